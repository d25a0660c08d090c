"""Economic importance (JRC 2017) computed from its inputs, where they are sourced.

``EI = Σ_s A_s · Q_s / max Q · 10 · SI_EI`` (:func:`economic_importance`, re-exported
by :mod:`chokepoint.analysis.criticality`): ``A_s`` the material's end-use share
allocated to NACE Rev. 2 two-digit manufacturing sector ``s``, ``Q_s`` that sector's EU
value added and ``max Q`` the value added of the largest manufacturing division
(C10-C33).

The inputs live in two hand-written reference tables, every row with its source and year:
``eu2023_end_uses.csv`` (material, NACE sector, share: one row per application as the
2023 study prints it) and ``nace_value_added.csv`` (NACE sector, value added in million
EUR, as the study used it). Two rules follow from the printed tables:

* the shares are printed in whole percent, so a material's shares may add up to 1 only
  within rounding: half a percentage point per printed share is accepted, and the shares
  are used as printed (not rescaled to 1);
* ``max Q`` needs the largest manufacturing division. It is the largest of C10-C33 when
  all 24 are in the table; otherwise one row may declare itself the largest (its ``note``
  begins with :data:`LARGEST_NOTE` and cites the ranking's source), and it must be at least
  as large as every division listed. With neither, EI is *not computed*.

A material without sourced end-use shares is reported as *not computed* with that reason,
and the study's published EI is carried beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import pandas as pd

from chokepoint.importers.reference import ReferenceData, read_table


def economic_importance(
    end_use_shares: Mapping[str, float],
    value_added: Mapping[str, float],
    si_ei: float,
    *,
    largest_value_added: float | None = None,
    tolerance: float = 1e-6,
) -> float:
    """``EI = Σ_s A_s · Q_s / max Q · 10 · SI_EI`` over NACE-2 sectors ``s``.

    ``largest_value_added`` is the value added of the largest sector (of the reference
    set of manufacturing sectors); it defaults to the largest in ``value_added``.
    The shares must add up to 1 within ``tolerance``; they are used as given.
    """
    total = sum(end_use_shares.values())
    if abs(total - 1.0) > tolerance:
        raise ValueError(f"end-use shares add up to {total:.6g}, expected 1")
    missing = sorted(set(end_use_shares) - set(value_added))
    if missing:
        raise ValueError(f"no value added for sector {missing[0]}")
    largest = max(value_added.values()) if largest_value_added is None else largest_value_added
    if not largest > 0:
        raise ValueError("the largest value added must be positive")
    weighted = sum(share * value_added[s] for s, share in end_use_shares.items())
    return weighted / largest * 10.0 * si_ei


MANUFACTURING = tuple(f"C{n}" for n in range(10, 34))
"""NACE Rev. 2 manufacturing divisions C10-C33: the reference set of the EI scale."""

LARGEST_NOTE = "largest manufacturing division"
"""How a ``nace_value_added.csv`` row's note declares that division the EI scale."""

ROUNDING = 0.005
"""Half a percentage point: the rounding of one share printed in whole percent."""

END_USES = "eu2023_end_uses.csv"
VALUE_ADDED = "nace_value_added.csv"


@lru_cache(maxsize=4)
def _table(folder: str, name: str, numeric: str) -> pd.DataFrame:
    path = Path(folder) / name
    if not path.is_file():
        return pd.DataFrame(columns=["material", "nace", numeric, "source", "year"])
    table = read_table(path)
    if len(table):
        blank = (table["source"].str.strip() == "").to_numpy()
        if blank.any():
            raise ValueError(f"{name} row {int(blank.argmax()) + 1}: no source")
        table[numeric] = pd.to_numeric(table[numeric], errors="raise")
    return table


def end_use_table(ref: ReferenceData) -> pd.DataFrame:
    """End-use shares by NACE-2 sector (``material, nace, sector, share, source, year``)."""
    return _table(str(ref.folder), END_USES, "share")


def value_added_table(ref: ReferenceData) -> pd.DataFrame:
    """EU value added by NACE-2 sector (``nace, sector, value_added_meur, source, year``)."""
    return _table(str(ref.folder), VALUE_ADDED, "value_added_meur")


def ei_from_inputs(
    material: str,
    si_ei: float | None,
    end_uses: pd.DataFrame,
    value_added: pd.DataFrame,
) -> tuple[float | None, str]:
    """``(EI, how)`` of one material from the two input tables, or ``(None, why not)``."""
    if si_ei is None or si_ei != si_ei:
        return None, "not computed: the study gives no SI_EI (group)"
    shares = end_uses[end_uses["material"] == material]
    if shares.empty:
        return None, f"not computed: no sourced end-use shares by NACE sector ({END_USES})"
    added = dict(zip(value_added["nace"], value_added["value_added_meur"], strict=True))
    largest, scale_how = _largest(value_added, added)
    if largest is None:
        return None, scale_how
    by_sector = shares.groupby("nace")["share"].sum()
    unsourced = sorted(str(s) for s in by_sector.index if s not in added)
    if unsourced:
        return None, f"not computed: no sourced value added for {', '.join(unsourced)}"
    value = economic_importance(
        {str(k): float(v) for k, v in by_sector.items()},
        {str(k): float(v) for k, v in added.items()},
        float(si_ei),
        largest_value_added=largest,
        tolerance=ROUNDING * len(shares) + 1e-9,
    )
    years = "/".join(sorted({str(y) for y in value_added["year"]}))
    return value, f"computed: {len(by_sector)} NACE sectors, value added {years}, {scale_how}"


def _largest(value_added: pd.DataFrame, added: Mapping[str, float]) -> tuple[float | None, str]:
    """The EI scale ``max Q`` and how it was found, or ``(None, why not)``."""
    listed = {s: float(added[s]) for s in MANUFACTURING if s in added}
    if len(listed) == len(MANUFACTURING):
        top = max(listed, key=listed.__getitem__)
        return listed[top], f"scale {top} (largest of C10-C33)"
    notes = value_added["note"] if "note" in value_added else pd.Series("", index=value_added.index)
    flagged = value_added.loc[notes.astype(str).str.startswith(LARGEST_NOTE), "nace"]
    declared = [str(s) for s in flagged if s in listed]
    if len(declared) == 1 and listed[declared[0]] >= max(listed.values()):
        missing = len(MANUFACTURING) - len(listed)
        return listed[declared[0]], (
            f"scale {declared[0]} (declared the largest manufacturing division; "
            f"{missing} smaller divisions not listed)"
        )
    return None, (
        f"not computed: the value added of {len(MANUFACTURING) - len(listed)} manufacturing "
        f"divisions is not sourced and no listed division is declared the largest "
        f"({VALUE_ADDED}; the scale needs all of C10-C33 or a declared largest division)"
    )
