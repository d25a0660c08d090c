"""CRMA benchmarks per stage for the 17 strategic raw materials, from the real-data tables.

Regulation (EU) 2024/1252 asks, by 2030 and for each strategic raw material: at least 10%
of EU consumption extracted in the EU, 40% processed in the EU, 25% from recycling, and at
most 65% from any single third country at any stage. This module measures each material
and stage the data allow (the materials map ``materials.csv`` says which World Mining
Data commodity and which HS6 codes stand for it):

* EU sourcing is the EU's own production (World Mining Data, member states) plus its
  extra-EU imports (BACI quantities); exports are not in the tables, so it is an apparent
  supply, not consumption. Where production and trade are in different units (metal
  content vs gross weight), production is left out and the shares are of imports only;
* the single-third-country share is the largest non-EU supplier's share of that sourcing;
* the recycling benchmark is read against the end-of-life recycling input rate (2023).

Materials or stages the wheel does not cover appear with ``data = False`` and a note.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from chokepoint.analysis.criticality import COUNTRY_ALIASES
from chokepoint.analysis.metrics import (
    CRMA_DOMESTIC_BENCHMARKS,
    CRMA_RECYCLING_BENCHMARK,
    CRMA_SINGLE_COUNTRY_LIMIT,
)
from chokepoint.importers.reference import ReferenceData, load_reference
from chokepoint.network.countries import EU27

CRMA_COLUMNS = [
    "material",
    "name",
    "crma",
    "stage",
    "year",
    "data",
    "world_top_country",
    "world_top_share",
    "eu_share_of_world",
    "eu_sourcing_t",
    "top_third_country",
    "top_third_country_share",
    "crma_65_breach",
    "domestic_share",
    "crma_domestic_benchmark",
    "crma_domestic_met",
    "eol_rir",
    "crma_recycling_met",
    "note",
]


def strategic_materials_table(
    ref: ReferenceData | None = None, *, year: int | None = None, controlled: bool = True
) -> pd.DataFrame:
    """One row per material of the map and stage: CRMA measures and flags for ``year``.

    ``year`` defaults to the last year with trade data. ``controlled`` keeps the
    non-strategic items under export control (antimony, tellurium, molybdenum, indium).
    """
    ref = load_reference() if ref is None else ref
    year = int(ref.imports["year"].max()) if year is None else int(year)
    by_commodity = dict(zip(ref.eol["commodity"], ref.eol["eol_rir"], strict=True))
    sheets: dict[str, str] = {}
    item: Any  # a namedtuple of the materials table's columns
    for item in ref.materials.itertuples(index=False):
        if item.wmd:
            sheets.setdefault(item.material, item.wmd.split(";")[0])
    eol = {m: by_commodity[s] for m, s in sheets.items() if s in by_commodity}
    rows = ref.materials if controlled else ref.materials[ref.materials["crma"] == "strategic"]
    return pd.DataFrame.from_records(
        [_row(ref, item, year, eol) for item in rows.itertuples(index=False)],
        columns=CRMA_COLUMNS,
    )


def _row(ref: ReferenceData, item, year: int, eol: dict[str, float]) -> dict[str, object]:
    sheets = [s for s in item.wmd.split(";") if s]
    codes = [c for c in item.hs6.split(";") if c]
    record: dict[str, object] = dict.fromkeys(CRMA_COLUMNS)
    record.update(
        material=item.material,
        name=item.name,
        crma=item.crma,
        stage=item.stage,
        year=year,
        data=False,
        note=item.note,
        crma_domestic_benchmark=CRMA_DOMESTIC_BENCHMARKS.get(item.stage),
    )
    prod = ref.production[
        ref.production["commodity"].isin(sheets) & (ref.production["year"] == year)
    ]
    world = prod.groupby("country")["quantity"].sum()
    world = world[world > 0]
    if not world.empty:
        top = str(world.idxmax())
        record.update(
            data=True,
            world_top_country=COUNTRY_ALIASES.get(top, top),
            world_top_share=float(world.max() / world.sum()),
            eu_share_of_world=float(world[world.index.isin(EU27)].sum() / world.sum()),
        )
    trade = ref.imports[
        ref.imports["hs6"].isin(codes)
        & (ref.imports["year"] == year)
        & ~ref.imports["partner"].isin(EU27)
    ]
    imports = trade.groupby("partner")["quantity_t"].sum()
    imports = imports[imports > 0]
    if not imports.empty:
        own = float(world[world.index.isin(EU27)].sum()) if item.same_basis == "yes" else 0.0
        sourcing = own + float(imports.sum())
        top = str(imports.idxmax())
        share = float(imports.max() / sourcing)
        record.update(
            data=True,
            eu_sourcing_t=sourcing,
            top_third_country=COUNTRY_ALIASES.get(top, top),
            top_third_country_share=share,
            crma_65_breach=share > CRMA_SINGLE_COUNTRY_LIMIT,
        )
        if item.same_basis == "yes":
            domestic = own / sourcing
            benchmark = CRMA_DOMESTIC_BENCHMARKS.get(item.stage)
            record.update(
                domestic_share=domestic,
                crma_domestic_met=None if benchmark is None else domestic >= benchmark,
            )
    rate = eol.get(item.material)
    if rate is not None:
        record.update(eol_rir=rate, crma_recycling_met=rate >= CRMA_RECYCLING_BENCHMARK)
    if not record["data"]:
        record["note"] = f"no data in the wheel for this stage; {item.note}"
    return record
