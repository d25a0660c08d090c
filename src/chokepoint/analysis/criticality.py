"""EU criticality (JRC 2017 method): supply risk per stage and economic importance.

The method of Blengini et al. (2017), used for the EU lists of 2020 and 2023:

* supply risk of a stage (extraction or processing)
  ``SR = [HHI_WGI,t(GS) · IR/2 + HHI_WGI,t(EU) · (1 − IR/2)] · (1 − EoL_RIR) · SI_SR``,
  with ``HHI_WGI,t = Σ_c S_c² · WGI_c · t_c`` over country shares ``S_c`` (0-1) of global
  supply (GS) or of EU sourcing (EU), governance scaled 0-10 (10 = worst) and the trade
  parameter ``t_c``. A stage assessed on global supply only (``GSonly``) uses the first
  HHI alone, one on EU sourcing only (``EUonly``) the second;
* economic importance ``EI = Σ_s A_s · Q_s · SI_EI``, end-use shares ``A_s`` of NACE-2
  sectors times their value added ``Q_s``, scaled so that the largest sector is 10.

The first half of this module holds those formulas as pure functions. The second half
assembles their inputs from the shipped reference tables
(:mod:`chokepoint.importers.reference`) in two ways: ``year=None`` reproduces the 2023
study (its parameters, its own global supply shares and trade parameters where
``eu2023_global_shares.csv`` has them, elsewhere country shares from the real data for the
years closest to its 2016-2020 window, published shares where they exist, the
six-dimension governance table of 2022; where the study's global shares are used, the SR
with the data's global shares is reported beside as ``sr_wmd_global``), and ``year=Y``
uses the real data of year ``Y`` with the political-stability governance score (the only
WGI dimension in the wheel). Monte Carlo bands on SR come from the governance standard
errors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, cast, overload

import numpy as np
import pandas as pd

from chokepoint.analysis.criticality_ei import (
    economic_importance as economic_importance,  # re-exported: it lives with the EI inputs
)
from chokepoint.analysis.criticality_ei import (
    ei_from_inputs,
    end_use_table,
    value_added_table,
)
from chokepoint.importers.reference import ReferenceData, load_reference, read_table
from chokepoint.network.countries import EU27

STAGES = ("extraction", "processing")
BASES = ("GS+EU", "GSonly", "EUonly")
CRITICAL_SR = 1.0
CRITICAL_EI = 2.8
"""Thresholds of the EU lists: critical when SR ≥ 1 and EI ≥ 2.8."""

GOVERNANCE_MIDPOINT = 5.0
"""Scaled governance given to a country with no score (the middle of the 0-10 scale)."""

COUNTRY_ALIASES = {"S19": "TWN"}
"""BACI and WMD code Taiwan 'S19' ("Other Asia, nes"); the governance tables use TWN."""

HREE = ("Dysprosium", "Terbium", "Gadolinium", "Yttrium", "Erbium", "Europium", "Holmium")
LREE = ("Neodymium", "Praseodymium", "Samarium", "Cerium", "Lanthanum")
GROUPS = {**dict.fromkeys(HREE, "HREE"), **dict.fromkeys(LREE, "LREE")}
"""Element → group of the 2023 study, for shares published for the group."""

STUDY_GLOBAL_YEARS = (2018, 2019, 2020)
STUDY_EU_YEARS = (2016, 2017, 2018, 2019, 2020)
"""Years the study route averages: its 2016-2020 window as far as the data reach
(World Mining Data in the wheel starts in 2018)."""


# --------------------------------------------------------------------------- formulas


@overload
def scale_governance(estimate: float) -> float: ...
@overload
def scale_governance(estimate: np.ndarray) -> np.ndarray: ...
def scale_governance(estimate: float | np.ndarray) -> float | np.ndarray:
    """A WGI estimate (−2.5 best … +2.5, higher is better) on the EU 0-10 scale (10 worst)."""
    scaled = np.clip(5.0 - 2.0 * np.asarray(estimate, dtype=float), 0.0, 10.0)
    return float(scaled) if np.ndim(scaled) == 0 else scaled


def hhi_wgi_t(
    shares: Mapping[str, float],
    governance: Mapping[str, float],
    trade: Mapping[str, float] | None = None,
    *,
    tolerance: float = 1e-9,
) -> float:
    """``Σ_c S_c² · WGI_c · t_c`` for shares on the 0-1 scale (not renormalised).

    Shares that do not add up to 1 leave the rest as unknown origin, which adds nothing
    (a lower bound). ``t_c`` defaults to 1. Raises ValueError for shares outside [0, 1],
    a total above ``1 + tolerance`` (printed shares may exceed 1 by their rounding), or a
    supplier without a governance score.
    """
    total = 0.0
    value = 0.0
    for country, share in shares.items():
        if not (math.isfinite(share) and 0.0 <= share <= 1.0 + 1e-12):
            raise ValueError(f"share of {country} is {share}, expected 0 to 1")
        total += share
        if share == 0.0:
            continue
        if country not in governance:
            raise ValueError(f"no governance score for {country}")
        factor = 1.0 if trade is None else float(trade.get(country, 1.0))
        value += share * share * float(governance[country]) * factor
    if total > 1.0 + tolerance:
        raise ValueError(f"shares add up to {total:.6g}, more than 1")
    return value


def supply_risk(
    hhi_global: float | None,
    hhi_eu: float | None,
    import_reliance: float | None,
    eol_rir: float,
    si_sr: float,
    basis: str = "GS+EU",
) -> float:
    """Supply risk of one stage from its two HHI_WGI,t terms and the parameters (0-1)."""
    if basis not in BASES:
        raise ValueError(f"basis must be one of {', '.join(BASES)}, got '{basis}'")
    for name, value in (("eol_rir", eol_rir), ("si_sr", si_sr)):
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"{name} is {value}, expected 0 to 1")
    if basis == "GSonly":
        core = _needed(hhi_global, "hhi_global")
    elif basis == "EUonly":
        core = _needed(hhi_eu, "hhi_eu")
    else:
        reliance = _needed(import_reliance, "import_reliance")
        if not 0.0 <= reliance <= 1.0:
            raise ValueError(f"import_reliance is {reliance}, expected 0 to 1")
        core = _needed(hhi_global, "hhi_global") * reliance / 2 + _needed(hhi_eu, "hhi_eu") * (
            1 - reliance / 2
        )
    return core * (1.0 - eol_rir) * si_sr


def _needed(value: float | None, name: str) -> float:
    if value is None or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} is needed (a finite number ≥ 0), got {value}")
    return float(value)


# --------------------------------------------------------------------------- one stage


@dataclass(frozen=True)
class StageInputs:
    """Everything the SR of one material and stage needs, with where it came from."""

    material: str
    stage: str
    basis: str
    import_reliance: float | None
    eol_rir: float
    si_sr: float
    global_shares: dict[str, float] = field(default_factory=dict)
    eu_shares: dict[str, float] = field(default_factory=dict)
    trade_global: dict[str, float] = field(default_factory=dict)
    trade_eu: dict[str, float] = field(default_factory=dict)
    provenance: tuple[str, ...] = ()
    ranges: tuple[tuple[str, float, float], ...] = ()
    """Assumed scopes: ``(scope, low, high)`` bounds of that scope's top supplier share."""
    share_tolerance: float = 1e-9
    """How far the global shares may add up to more than 1 (printing rounding)."""
    data_global_shares: dict[str, float] = field(default_factory=dict)
    data_trade_global: dict[str, float] = field(default_factory=dict)
    """Beside the study's own global shares: World Mining Data shares (or their stated
    proxy) and the t table's values, for the SR reported beside (empty when not used)."""


def stage_supply_risk(
    inputs: StageInputs, governance: Mapping[str, float]
) -> tuple[float, float | None, float | None]:
    """``(SR, HHI_WGI,t global, HHI_WGI,t EU)`` of one stage."""
    need_global = inputs.basis in ("GS+EU", "GSonly")
    need_eu = inputs.basis in ("GS+EU", "EUonly")
    hhi_g = (
        hhi_wgi_t(
            inputs.global_shares,
            governance,
            inputs.trade_global,
            tolerance=inputs.share_tolerance,
        )
        if need_global
        else None
    )
    hhi_e = hhi_wgi_t(inputs.eu_shares, governance, inputs.trade_eu) if need_eu else None
    sr = supply_risk(
        hhi_g, hhi_e, inputs.import_reliance, inputs.eol_rir, inputs.si_sr, inputs.basis
    )
    return sr, hhi_g, hhi_e


def supply_risk_draws(
    inputs: StageInputs,
    governance: Mapping[str, float],
    spread: Mapping[str, float],
    *,
    draws: int = 1000,
    seed: int = 2023,
) -> np.ndarray:
    """SR of one stage for ``draws`` governance draws: score ~ N(mean, spread), clipped 0-10.

    ``spread`` is the standard deviation of each country's scaled score (0 if absent).
    """
    countries = sorted(set(inputs.global_shares) | set(inputs.eu_shares))
    if draws < 1:
        raise ValueError("draws must be at least 1")
    mean = np.array([governance[c] for c in countries], dtype=float)
    sd = np.array([spread.get(c, 0.0) for c in countries], dtype=float)
    rng = np.random.default_rng(seed)
    scores = np.clip(mean + sd * rng.standard_normal((draws, len(countries))), 0.0, 10.0)

    def weights(shares: Mapping[str, float], trade: Mapping[str, float]) -> np.ndarray:
        return np.array([shares.get(c, 0.0) ** 2 * trade.get(c, 1.0) for c in countries])

    hhi_g = scores @ weights(inputs.global_shares, inputs.trade_global)
    hhi_e = scores @ weights(inputs.eu_shares, inputs.trade_eu)
    factor = (1.0 - inputs.eol_rir) * inputs.si_sr
    if inputs.basis == "GSonly":
        return hhi_g * factor
    if inputs.basis == "EUonly":
        return hhi_e * factor
    reliance = float(cast(float, inputs.import_reliance))  # checked by supply_risk first
    return (hhi_g * reliance / 2 + hhi_e * (1 - reliance / 2)) * factor


# --------------------------------------------------------------------------- data assembly


@dataclass(frozen=True)
class Governance:
    """Scaled scores (0-10) and their standard deviations, with how they were made."""

    score: dict[str, float]
    spread: dict[str, float]
    label: str


def governance_scores(ref: ReferenceData, year: int | None) -> Governance:
    """Study route (``None``): six-dimension WGI 2022, political stability where absent.

    Year ``Y``: political stability of year ``Y`` (the wheel's only WGI dimension). The
    spread is twice the estimate's standard error (the scaling doubles the estimate).
    """
    pv_year = 2022 if year is None else year
    pv = ref.governance[ref.governance["year"] == pv_year]
    if pv.empty:
        raise ValueError(f"no governance scores for {pv_year} (the data run 1996-2024)")
    score = dict(zip(pv["country"], scale_governance(pv["estimate"].to_numpy()), strict=True))
    spread = {c: 2.0 * se for c, se in zip(pv["country"], pv["std_error"], strict=True) if se == se}
    label = f"WGI political stability {pv_year}, scaled 5 - 2 x estimate"
    if year is None:
        six = dict(zip(ref.wgi_2022["country"], ref.wgi_2022["scaled"], strict=True))
        score.update(six)
        label = "WGI 2022 six-dimension mean, scaled (political stability 2022 where absent)"
    return Governance(score=score, spread=spread, label=label)


def _material_rows(ref: ReferenceData, study_material: str, stage: str) -> pd.DataFrame:
    """Rows of the materials map whose ``eu2023`` names the study material (or its group)."""
    names = {study_material, GROUPS.get(study_material, study_material)}
    mats = ref.materials
    hit = mats["eu2023"].map(lambda v: bool(names & set(v.split(";"))))
    return mats[hit & (mats["stage"] == stage)]


def _alias(country: str) -> str:
    return COUNTRY_ALIASES.get(country, country)


def _shares(flows: pd.Series) -> dict[str, float]:
    flows = flows[flows > 0]
    total = flows.sum()
    if not total > 0:
        return {}
    grouped = flows.groupby(flows.index.map(_alias)).sum() / total
    return {str(c): float(s) for c, s in grouped.sort_values(ascending=False).items()}


def global_supply_shares(
    ref: ReferenceData, rows: pd.DataFrame, years: tuple[int, ...]
) -> dict[str, float]:
    """Country shares of world production (World Mining Data) over ``years``."""
    sheets = {s for value in rows["wmd"] for s in value.split(";") if s}
    prod = ref.production
    part = prod[prod["commodity"].isin(sheets) & prod["year"].isin(years)]
    return _shares(part.groupby("country")["quantity"].sum())


def eu_sourcing_shares(
    ref: ReferenceData, rows: pd.DataFrame, years: tuple[int, ...]
) -> tuple[dict[str, float], bool]:
    """Country shares of EU sourcing: extra-EU imports (BACI), plus EU production if the
    units agree (``same_basis``). Returns the shares and whether production was added."""
    codes = {c for value in rows["hs6"] for c in value.split(";") if c}
    imp = ref.imports
    part = imp[
        imp["hs6"].isin(codes)
        & imp["year"].isin(years)
        & ~imp["partner"].isin(EU27)
        & imp["importer"].isin(EU27)
    ]
    flows = part.groupby("partner")["quantity_t"].sum()
    with_production = bool(len(rows)) and bool((rows["same_basis"] == "yes").all())
    if with_production and not flows.empty:
        sheets = {s for value in rows["wmd"] for s in value.split(";") if s}
        prod = ref.production
        eu = prod[prod["commodity"].isin(sheets) & prod["year"].isin(years)]
        own = eu[eu["country"].isin(EU27)].groupby("country")["quantity"].sum()
        flows = pd.concat([flows, own]).groupby(level=0).sum()
    return _shares(flows), with_production


def _published_shares(ref: ReferenceData, material: str, stage: str) -> dict[str, pd.DataFrame]:
    """Published (or stated-assumption) shares for the material or its group, by scope."""
    names = {material, GROUPS.get(material, material)}
    table = ref.shares
    part = table[table["material"].isin(names) & (table["stage"] == stage)]
    return {str(scope): rows for scope, rows in part.groupby("scope")}


def _trade_parameters(
    ref: ReferenceData, material: str, stage: str
) -> tuple[dict[str, float], dict[str, float]]:
    table = ref.trade_parameters
    part = table[(table["material"] == material) & (table["stage"] == stage)]
    found = {
        scope: dict(zip(rows["country"], rows["trade_parameter"], strict=True))
        for scope, rows in part.groupby("scope")
    }
    return found.get("global", {}), found.get("eu", {})


def _proxies(ref: ReferenceData) -> pd.DataFrame:
    """Stated-assumption proxies (``eu2023_proxies.csv``): a stage without data of its own
    that borrows another World Mining Data series, with a range for its top supplier."""
    return _read_proxies(str(ref.folder))


@lru_cache(maxsize=4)
def _read_proxies(folder: str) -> pd.DataFrame:
    path = Path(folder) / "eu2023_proxies.csv"
    if not path.is_file():
        return pd.DataFrame(columns=["material", "stage", "scope", "proxy_wmd"])
    table = read_table(path)
    for column in ("top_low", "top_high"):
        table[column] = pd.to_numeric(table[column].replace("", None), errors="raise")
    return table


def _proxy(ref: ReferenceData, material: str, stage: str, scope: str) -> pd.Series | None:
    table = _proxies(ref)
    hit = table[
        (table["material"] == material) & (table["stage"] == stage) & (table["scope"] == scope)
    ]
    return None if hit.empty else hit.iloc[0]


STUDY_GLOBAL_SHARES = "eu2023_global_shares.csv"
"""The 2023 study's own global supply shares and trade parameters (its Appendix 7, as
transcribed): the study route's global shares wherever a material and stage has rows."""

PRINTED_BELOW = 0.001
"""A share printed '<0.1%' lies below this; it is counted as 0 (adds < 1e-5 to an HHI)."""


def study_global_shares(ref: ReferenceData) -> pd.DataFrame:
    """``eu2023_global_shares.csv``: material, stage, country (ISO3), share (0-1; NaN where
    printed '<0.1%'), the share as printed, trade parameter t, source, year (empty if the
    file is absent)."""
    return _read_study_global(str(ref.folder))


@lru_cache(maxsize=4)
def _read_study_global(folder: str) -> pd.DataFrame:
    path = Path(folder) / STUDY_GLOBAL_SHARES
    columns = ["material", "stage", "country", "share", "printed", "trade_parameter", "source"]
    if not path.is_file():
        return pd.DataFrame(columns=columns)
    table = read_table(path)
    blank = (table["source"].str.strip() == "").to_numpy()
    if blank.any():
        raise ValueError(f"{STUDY_GLOBAL_SHARES} row {int(blank.argmax()) + 1}: no source")
    table["share"] = pd.to_numeric(table["share"].replace("", None), errors="raise")
    table["trade_parameter"] = pd.to_numeric(table["trade_parameter"], errors="raise")
    return table


@dataclass(frozen=True)
class _StudyGlobal:
    shares: dict[str, float]
    trade: dict[str, float]
    tolerance: float
    note: str


def _printed_rounding(printed: str) -> float:
    """Half a unit of the last printed digit: 0.05 points for '93.8%', 0.5 for '69%'."""
    return 0.0005 if "." in printed else 0.005


def _study_global(ref: ReferenceData, material: str, stage: str) -> _StudyGlobal | None:
    """The study's own global shares of one stage, checked to add up to 1 within the
    rounding of the printed figures, or ``None`` when the table has no rows for it."""
    table = study_global_shares(ref)
    part = table[(table["material"] == material) & (table["stage"] == stage)]
    if part.empty:
        return None
    known = part[part["share"].notna()].sort_values("share", ascending=False)
    shares = {str(c): float(v) for c, v in zip(known["country"], known["share"], strict=True)}
    small = len(part) - len(known)
    rounding = sum(_printed_rounding(str(p)) for p in known["printed"])
    total = sum(shares.values())
    if not total - rounding <= 1.0 <= total + small * PRINTED_BELOW + rounding:
        raise ValueError(
            f"{STUDY_GLOBAL_SHARES}: {material} {stage} shares add up to {total:.4g}, "
            "not 1 within the rounding of the printed figures"
        )
    trade = {
        str(c): float(t)
        for c, t in zip(part["country"], part["trade_parameter"], strict=True)
        if t != 1.0
    }
    top = ", ".join(f"{c} {v:.1%}" for c, v in list(shares.items())[:3])
    rest = f"; {small} printed <0.1% (counted 0)" if small else ""
    t_text = ", ".join(f"{c} {t:g}" for c, t in sorted(trade.items())) or "all 1"
    note = (
        f"global: study 2023 Appendix 7 shares ({STUDY_GLOBAL_SHARES}, transcription) "
        f"{top}{rest}; t as printed there: {t_text}"
    )
    return _StudyGlobal(shares=shares, trade=trade, tolerance=rounding + 1e-9, note=note)


def _years(years: tuple[int, ...]) -> str:
    return str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"


def _scope_shares(
    ref: ReferenceData,
    rows: pd.DataFrame,
    published: dict[str, pd.DataFrame],
    scope: str,
    years: tuple[int, ...],
    proxy: pd.Series | None = None,
) -> tuple[dict[str, float], str | None]:
    """Shares of one scope and a provenance note, or ``({}, reason)`` when there are none."""
    table = published.get(scope)
    if table is not None and table["share"].sum() >= 1 - 1e-9:
        return _published_note(table, scope)
    if scope == "global":
        shares = global_supply_shares(ref, rows, years)
        sheets = sorted({s for v in rows["wmd"] for s in v.split(";") if s})
        if not shares and proxy is not None:
            sheets = [str(proxy["proxy_wmd"])]
            shares = global_supply_shares(ref, pd.DataFrame({"wmd": sheets}), years)
            if shares:
                return shares, (
                    f"global: ASSUMPTION, WMD {sheets[0]} {_years(years)} shares stand in "
                    f"(eu2023_proxies.csv): {_share_text(shares)}"
                )
        if not shares:
            return {}, None
        return shares, f"global: WMD {'+'.join(sheets)} {_years(years)}"
    shares, with_production = eu_sourcing_shares(ref, rows, years)
    if not shares:
        # a published share that covers only part of EU sourcing: a lower bound, and only
        # when the data have nothing for the stage
        return _published_note(table, scope) if table is not None else ({}, None)
    codes = sorted({c for v in rows["hs6"] for c in v.split(";") if c})
    own = " + EU production (WMD)" if with_production else ", EU production left out (units differ)"
    return shares, f"eu: BACI {'+'.join(codes)} extra-EU imports {_years(years)}{own}"


def _published_note(table: pd.DataFrame, scope: str) -> tuple[dict[str, float], str]:
    shares = dict(zip(table["country"], table["share"], strict=True))
    kinds = "/".join(sorted(set(table["kind"])))
    covered = sum(shares.values())
    rest = "" if covered >= 1 - 1e-9 else f"; the other {1 - covered:.0%} unknown (adds 0)"
    return shares, f"{scope}: {kinds} shares {_share_text(shares)}{rest}"


def _share_text(shares: Mapping[str, float]) -> str:
    return ", ".join(f"{c} {s:.0%}" for c, s in list(shares.items())[:3])


def stage_inputs(
    ref: ReferenceData, params: pd.Series, stage: str, year: int | None
) -> tuple[StageInputs | None, str]:
    """The inputs of one study material and stage, or ``(None, reason)``."""
    material = str(params["material"])
    basis = str(params[f"basis_{stage}"])
    if basis == "":
        return None, "stage not assessed by the study"
    if basis not in BASES:
        raise ValueError(f"{material} {stage}: unknown supply basis '{basis}'")
    if not params["si_sr"] == params["si_sr"]:
        return None, "group: the study gives no SI_SR (see its elements)"
    if basis == "GS+EU" and not params[f"ir_{stage}"] == params[f"ir_{stage}"]:
        return None, "the study gives no import reliance for this stage"
    rows = _material_rows(ref, material, stage)
    published = _published_shares(ref, material, stage) if year is None else {}
    found: dict[str, dict[str, float]] = {}
    notes: list[str] = []
    ranges: list[tuple[str, float, float]] = []
    study = _study_global(ref, material, stage) if year is None else None
    beside: dict[str, float] = {}
    for scope, needed, years in (
        ("global", basis in ("GS+EU", "GSonly"), STUDY_GLOBAL_YEARS),
        ("eu", basis in ("GS+EU", "EUonly"), STUDY_EU_YEARS),
    ):
        if not needed:
            continue
        proxy = _proxy(ref, material, stage, scope)
        shares, note = _scope_shares(
            ref, rows, published, scope, years if year is None else (year,), proxy
        )
        if scope == "global" and study is not None:
            beside = shares  # the data's shares (or proxy), for the SR reported beside
            shares, note = study.shares, study.note
        elif shares:
            ranges.extend(_assumed_range(scope, shares, published.get(scope), proxy, note))
        if not shares:
            where = "production" if scope == "global" else "EU import"
            return None, f"no {where} data for this stage in the wheel"
        found[scope] = shares
        if note is not None:  # always a note when there are shares
            notes.append(note)
    trade_g, trade_e = _trade_parameters(ref, material, stage)
    reliance = params[f"ir_{stage}"]
    used_study = study is not None and "global" in found
    return (
        StageInputs(
            material=material,
            stage=stage,
            basis=basis,
            import_reliance=None if reliance != reliance else float(reliance),
            eol_rir=float(params["eol_rir"]),
            si_sr=float(params["si_sr"]),
            global_shares=found.get("global", {}),
            eu_shares=found.get("eu", {}),
            trade_global=study.trade if used_study and study is not None else trade_g,
            trade_eu=trade_e,
            provenance=tuple(notes),
            ranges=tuple(ranges),
            share_tolerance=study.tolerance if used_study and study is not None else 1e-9,
            data_global_shares=beside if used_study else {},
            data_trade_global=trade_g if used_study and beside else {},
        ),
        "computed",
    )


def _assumed_range(
    scope: str,
    shares: Mapping[str, float],
    published: pd.DataFrame | None,
    proxy: pd.Series | None,
    note: str | None,
) -> list[tuple[str, float, float]]:
    """The top-supplier range of a scope resting on a stated assumption, if it does."""
    top = max(shares.values())
    if proxy is not None and note is not None and "ASSUMPTION" in note:
        low = proxy["top_low"] if proxy["top_low"] == proxy["top_low"] else top
        high = proxy["top_high"] if proxy["top_high"] == proxy["top_high"] else top
        return [(scope, float(low), float(high))]
    if published is not None and (published["kind"] == "assumption").any():
        row = published.sort_values("share", ascending=False).iloc[0]
        low = row["low"] if row["low"] == row["low"] else top
        high = row["high"] if row["high"] == row["high"] else top
        return [(scope, float(low), float(high))]
    return []


def with_top_share(shares: Mapping[str, float], top_share: float) -> dict[str, float]:
    """``shares`` with the largest supplier's share set to ``top_share`` and the others
    scaled so the known total stays the same (or shrinks to ``top_share`` when there are
    no others: the rest is unknown origin). Used for assumption ranges."""
    if not shares:
        return {}
    top = max(shares, key=lambda c: shares[c])
    total = sum(shares.values())
    rest = total - shares[top]
    out = {top: float(top_share)}
    if rest > 0:
        factor = max(total - top_share, 0.0) / rest
        out.update({c: s * factor for c, s in shares.items() if c != top})
    return out


def study_materials(ref: ReferenceData, material: str | None) -> list[str]:
    """Study material names matching ``material`` (a study name or a chokepoint id)."""
    names = list(ref.parameters["material"])
    if material is None:
        return names
    key = material.strip().lower().replace("_", " ")
    direct = [n for n in names if n.lower() == key]
    if direct:
        return direct
    mats = ref.materials[ref.materials["material"].str.lower() == material.strip().lower()]
    mapped = {n for v in mats["eu2023"] for n in v.split(";")}
    mapped |= {e for g in mapped for e, grp in GROUPS.items() if grp == g}
    found = [n for n in names if n in mapped]
    if not found:
        raise ValueError(f"unknown material '{material}'; known: {', '.join(names)}")
    return found


def criticality_table(
    ref: ReferenceData | None = None,
    *,
    material: str | None = None,
    year: int | None = None,
    draws: int = 1000,
    seed: int = 2023,
) -> pd.DataFrame:
    """SR per stage (with Monte Carlo and assumption bands) and EI for the study's materials.

    ``year=None``: the 2023 study's route (see the module docstring); ``year=Y``: the real
    data of year ``Y``. EI is computed from end-use shares and sector value added where
    those are sourced (:mod:`chokepoint.analysis.criticality_ei`); ``ei_source`` says so,
    and ``published_ei`` carries the study's value either way.
    """
    ref = load_reference() if ref is None else ref
    governance = governance_scores(ref, year)
    wanted = set(study_materials(ref, material))
    end_uses, value_added = end_use_table(ref), value_added_table(ref)
    records = []
    params: Any  # a namedtuple of the parameters table's columns
    for params in ref.parameters.itertuples(index=False):
        if params.material not in wanted:
            continue
        row = pd.Series(params._asdict())
        ei = ei_from_inputs(str(params.material), _number(params.si_ei), end_uses, value_added)
        for code, stage in (("E", "extraction"), ("P", "processing")):
            if code not in str(params.stages):
                continue
            inputs, status = stage_inputs(ref, row, stage, year)
            record = _record(row, stage, inputs, status, governance, year, draws, seed, ei)
            records.append(record)
    return pd.DataFrame.from_records(records, columns=CRITICALITY_COLUMNS)


CRITICALITY_COLUMNS = [
    "material",
    "stage",
    "used_stage",
    "route",
    "basis",
    "import_reliance",
    "eol_rir",
    "si_sr",
    "hhi_wgi_global",
    "hhi_wgi_eu",
    "sr",
    "sr_p5",
    "sr_p50",
    "sr_p95",
    "sr_assumption_low",
    "sr_assumption_high",
    "sr_wmd_global",
    "published_sr",
    "sr_minus_published",
    "ei",
    "published_ei",
    "ei_minus_published",
    "ei_source",
    "critical",
    "governance",
    "inputs",
    "status",
]


def _record(
    params: pd.Series,
    stage: str,
    inputs: StageInputs | None,
    status: str,
    governance: Governance,
    year: int | None,
    draws: int,
    seed: int,
    ei_computed: tuple[float | None, str] = (None, "not computed"),
) -> dict[str, object]:
    published = params[f"published_sr_{stage}"]
    published_ei = _number(params["published_ei"])
    ei_value, ei_how = ei_computed
    ei = ei_value if ei_value is not None else published_ei
    record: dict[str, object] = dict.fromkeys(CRITICALITY_COLUMNS)
    record.update(
        material=params["material"],
        stage=stage,
        used_stage=params["published_stage"] == stage,
        route="study 2023" if year is None else f"data {year}",
        basis=params[f"basis_{stage}"] or None,
        import_reliance=_number(params[f"ir_{stage}"]),
        eol_rir=_number(params["eol_rir"]),
        si_sr=_number(params["si_sr"]),
        published_sr=_number(published),
        ei=ei_value,
        published_ei=published_ei,
        ei_minus_published=(
            None if ei_value is None or published_ei is None else ei_value - published_ei
        ),
        ei_source=ei_how,
        status=status,
    )
    if inputs is None:
        return record
    score = dict(governance.score)
    suppliers = set(inputs.global_shares) | set(inputs.eu_shares) | set(inputs.data_global_shares)
    unscored = sorted(c for c in suppliers if c not in score)
    score.update(dict.fromkeys(unscored, GOVERNANCE_MIDPOINT))
    sr, hhi_g, hhi_e = stage_supply_risk(inputs, score)
    sample = supply_risk_draws(inputs, score, governance.spread, draws=draws, seed=seed)
    p5, p50, p95 = np.percentile(sample, [5, 50, 95])
    low, high = assumption_band(inputs, score)
    notes = list(inputs.provenance)
    sr_wmd = wmd_global_supply_risk(inputs, score)
    if sr_wmd is not None:
        notes.append(f"beside: SR {sr_wmd:.2f} with the data's global shares instead")
    if unscored:
        notes.append(f"no governance score for {', '.join(unscored)}: {GOVERNANCE_MIDPOINT:g} used")
    record.update(
        hhi_wgi_global=hhi_g,
        hhi_wgi_eu=hhi_e,
        sr=sr,
        sr_p5=float(p5),
        sr_p50=float(p50),
        sr_p95=float(p95),
        sr_assumption_low=low,
        sr_assumption_high=high,
        sr_wmd_global=sr_wmd,
        sr_minus_published=None if record["published_sr"] is None else sr - published,
        critical=None if ei is None else bool(sr >= CRITICAL_SR and ei >= CRITICAL_EI),
        governance=governance.label,
        inputs="; ".join(notes),
    )
    return record


def wmd_global_supply_risk(inputs: StageInputs, governance: Mapping[str, float]) -> float | None:
    """SR of a stage whose global shares are the study's own, with the data's global
    shares (World Mining Data, or their stated proxy) and the t table in their place;
    ``None`` when the stage does not use the study's shares or the data have none."""
    if not inputs.data_global_shares:
        return None
    varied = replace(
        inputs,
        global_shares=inputs.data_global_shares,
        trade_global=inputs.data_trade_global,
        share_tolerance=1e-9,
        data_global_shares={},
        data_trade_global={},
    )
    return stage_supply_risk(varied, governance)[0]


def assumption_band(
    inputs: StageInputs, governance: Mapping[str, float]
) -> tuple[float | None, float | None]:
    """SR at the low and high ends of the stage's stated assumptions (``inputs.ranges``):
    the top supplier's share of each assumed scope set to its bounds. ``(None, None)``
    when the stage rests on no ranged assumption."""
    if not inputs.ranges:
        return None, None
    ends = []
    for end in (1, 2):
        changed = {"global": inputs.global_shares, "eu": inputs.eu_shares}
        for scope, *bounds in inputs.ranges:
            changed[scope] = with_top_share(changed[scope], bounds[end - 1])
        varied = StageInputs(
            **{**inputs.__dict__, "global_shares": changed["global"], "eu_shares": changed["eu"]}
        )
        ends.append(stage_supply_risk(varied, governance)[0])
    return min(ends), max(ends)


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    number = float(value)
    return None if math.isnan(number) else number
