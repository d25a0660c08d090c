"""Benchmark: aggregate a synthetic BACI-layout trade file to EU27 supplier shares.

Run as ``python bench/baci.py [--rows 10000000]``. The script

1. generates, in a subprocess, a BACI-layout CSV (``t,i,j,k,v,q``) of ``--rows``
   rows and a country-code file in a temporary folder (DuckDB ``COPY``);
2. runs ``write_baci_supplier_shares`` (EU27 grouped, every product, every
   importer) in a fresh subprocess and measures its wall time and peak memory;
3. prints a JSON object as its last line:
   ``{"rows": ..., "file_mib": ..., "wall_s": ..., "peak_mib": ..., ...}``.

``peak_mib`` is the aggregation child's ``ru_maxrss`` (KiB on Linux) / 1024, read
with ``os.wait4`` on that child: ``getrusage(RUSAGE_CHILDREN)`` would give the
maximum over *both* children, generator included. A child's ``ru_maxrss`` also
includes the memory its parent had when it was spawned, so this parent imports
nothing heavy and does no work of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COUNTRIES = 220
PRODUCTS = 5000
YEARS = (2021, 2022)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="trade rows to generate")
    parser.add_argument("--memory-limit", default="512MB", help="DuckDB memory limit")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    parser.add_argument("--generate", nargs=2, metavar=("FOLDER", "ROWS"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--aggregate", nargs=3, metavar=("TRADE", "CODES", "OUT"), help=argparse.SUPPRESS
    )
    return parser.parse_args(argv)


def generate(folder: Path, rows: int) -> tuple[Path, Path]:
    """Write ``trade.csv`` (BACI layout) and ``codes.csv`` into ``folder`` (child mode)."""
    import duckdb

    from chokepoint.network.countries import EU27, iso3_codes

    others = sorted(iso3_codes() - set(EU27))
    iso3 = [*EU27, *others][:COUNTRIES]
    codes = folder / "codes.csv"
    lines = ["country_code,country_name,country_iso2,country_iso3"]
    lines += [f"{n},Country {n},,{code}" for n, code in enumerate(iso3, start=1)]
    codes.write_text("\n".join(lines) + "\n", encoding="utf-8")

    trade = folder / "trade.csv"
    con = duckdb.connect(config={"memory_limit": "256MB", "threads": 2})
    # i and j are distinct countries; k spreads 5000 HS6 codes over 010000..974807 (so
    # some lose a leading zero); about 5% of quantities are NA, as in BACI.
    con.execute(f"""
        COPY (
            SELECT {YEARS[0]} + (n % {len(YEARS)}) AS t,
                   1 + hash(n, 1) % {COUNTRIES} AS i,
                   1 + (hash(n, 1) % {COUNTRIES} + 1 + hash(n, 2) % {COUNTRIES - 1})
                       % {COUNTRIES} AS j,
                   10000 + (hash(n, 3) % {PRODUCTS}) * 193 AS k,
                   round(0.001 + (hash(n, 4) % 10000000) / 1000.0, 3) AS v,
                   CASE WHEN hash(n, 5) % 20 = 0 THEN NULL
                        ELSE round((hash(n, 6) % 1000000) / 1000.0, 3) END AS q
            FROM range({rows}) AS r(n)
        ) TO '{trade}' (HEADER, DELIMITER ',', NULLSTR 'NA')
    """)
    con.close()
    return trade, codes


def aggregate(trade: Path, codes: Path, out: Path, memory_limit: str, threads: int) -> dict:
    """Aggregate to EU27 supplier shares (child mode); return a small summary."""
    from chokepoint.importers import write_baci_supplier_shares
    from chokepoint.network.countries import EU27

    start = time.perf_counter()
    summary = write_baci_supplier_shares(
        trade,
        codes,
        out,
        group_importers={"EU27": EU27},
        memory_limit=memory_limit,
        threads=threads,
    )
    return {
        "aggregate_s": round(time.perf_counter() - start, 2),
        "output_rows": summary.rows,
        "importers": summary.importers,
        "products": summary.products,
        "output_mib": round(out.stat().st_size / 2**20, 1),
    }


def _child_env() -> dict[str, str]:
    """The environment for a child: chokepoint importable from the source tree."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return env


def _run_child(args: list[str]) -> tuple[str, float, float]:
    """Run this script in a child; return its stdout, wall seconds and peak RSS in MiB."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, *args], stdout=subprocess.PIPE, env=_child_env(), text=True
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"child {args[0]} failed with exit code {proc.returncode}")
    return output, wall, usage.ru_maxrss / 1024


def bench(options: argparse.Namespace, folder: Path) -> dict:
    """Generate the input, then time and measure the aggregation child."""
    _, generate_s, generate_peak = _run_child(["--generate", str(folder), str(options.rows)])
    trade, codes = folder / "trade.csv", folder / "codes.csv"
    out = folder / "shares.parquet"
    args = ["--aggregate", str(trade), str(codes), str(out)]
    args += ["--memory-limit", options.memory_limit, "--threads", str(options.threads)]
    output, wall, peak = _run_child(args)
    return {
        "rows": options.rows,
        "file_mib": round(trade.stat().st_size / 2**20, 1),
        "wall_s": round(wall, 2),
        "peak_mib": round(peak, 1),
        **json.loads(output.strip().splitlines()[-1]),
        "memory_limit": options.memory_limit,
        "threads": options.threads,
        "generate_s": round(generate_s, 2),
        "generate_peak_mib": round(generate_peak, 1),
    }


def main(argv: list[str] | None = None) -> None:
    """Entry point: parent mode unless a hidden child flag is given."""
    options = _parse(argv)
    if options.generate:
        generate(Path(options.generate[0]), int(options.generate[1]))
        return
    if options.aggregate:
        trade, codes, out = map(Path, options.aggregate)
        result = aggregate(trade, codes, out, options.memory_limit, options.threads)
        print(json.dumps(result))
        return
    if options.keep:
        options.keep.mkdir(parents=True, exist_ok=True)
        print(json.dumps(bench(options, options.keep)))
        return
    with tempfile.TemporaryDirectory(prefix="chokepoint-bench-") as folder:
        print(json.dumps(bench(options, Path(folder))))


if __name__ == "__main__":
    main()
