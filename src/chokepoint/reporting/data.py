"""What a report needs from one run, read from a results folder or taken from ``Results``.

A :class:`RunData` holds the metadata, the events in words, the statistics per product and
region, the daily bands and the licensing diagnostics of one run, plus (when it can be
recovered) the scenario and the network it ran on. Charts are built from these tables only.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from chokepoint.errors import ChokepointError

if TYPE_CHECKING:
    from chokepoint.network.container import SupplyNetwork
    from chokepoint.scenario import Scenario
    from chokepoint.simulation.run import Results

EU_REGION = "EU27"
"""The region whose rows the report puts first (the EU as a whole)."""


@dataclass
class RunData:
    """One run, ready for charts. ``label`` names it in a comparison."""

    label: str
    metadata: dict[str, Any]
    events: list[dict[str, Any]]
    stats: pd.DataFrame
    bands: pd.DataFrame
    licences: pd.DataFrame
    draws: pd.DataFrame = field(default_factory=pd.DataFrame)
    scenario: Scenario | None = None
    folder: Path | None = None

    @property
    def band_draws(self) -> Any:
        """How many draws the daily bands span (all draws for a run written before bands were
        capped)."""
        return self.metadata.get("band_draws", self.metadata.get("draws"))

    @classmethod
    def from_results(cls, results: Results, label: str | None = None) -> RunData:
        """A run held in memory (what :func:`chokepoint.simulation.run.simulate` returned)."""
        return cls(
            label=label or str(results.metadata.get("scenario", "run")),
            metadata=dict(results.metadata),
            events=results.events(),
            stats=results.stats.copy(),
            bands=results.bands.copy(),
            licences=results.licences.copy(),
            draws=results.summary.copy(),
            scenario=results.scenario,
        )

    @classmethod
    def from_folder(cls, path: str | Path, label: str | None = None) -> RunData:
        """A run written by ``chokepoint run --out DIR`` (or ``Results.write``)."""
        folder = Path(path)
        result_file = folder / "result.json"
        if not folder.is_dir():
            raise ChokepointError(f"{folder}: no such results folder")
        if not result_file.is_file():
            raise ChokepointError(
                f"{folder}: no result.json here (not a results folder written by "
                "Results.write or a run with an output folder)"
            )
        try:
            content = json.loads(result_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ChokepointError(f"{result_file}: not a readable result file ({exc})") from None
        if not isinstance(content, dict) or not isinstance(content.get("metadata"), dict):
            raise ChokepointError(f"{result_file}: not a chokepoint result (no metadata)")
        _check_content(content, result_file)
        metadata = content["metadata"]
        stats = _read_table(folder / "stats.parquet")
        if stats.empty and content.get("products"):
            stats = pd.DataFrame(content["products"])
        run = cls(
            label=label or str(metadata.get("scenario", folder.name)),
            metadata=metadata,
            events=list(content.get("events") or []),
            stats=stats,
            bands=_read_table(folder / "bands.parquet"),
            licences=_read_table(folder / "licences.parquet"),
            draws=_read_table(folder / "draws.parquet"),
            folder=folder,
        )
        run.scenario = recover_scenario(metadata)
        return run

    @property
    def name(self) -> str:
        return str(self.metadata.get("scenario", self.label))

    @property
    def horizon_days(self) -> int:
        return int(self.metadata.get("horizon_days", 365))

    @property
    def first_shock_day(self) -> int:
        return int(self.metadata.get("first_shock_day", 0) or 0)

    def region_stats(self, region: str = EU_REGION) -> pd.DataFrame:
        """Statistics of one region's rows (the EU-27 by default)."""
        if self.stats.empty:
            return self.stats
        return self.stats[self.stats["region"] == region].reset_index(drop=True)


_WHOLE_FIELDS = ("horizon_days", "first_shock_day", "draws", "seed", "band_draws")
_EVENT_FIELDS = {"index": int, "start_day": int, "end_day": int, "type": str, "label": str}


def _check_content(content: dict[str, Any], file: Path) -> None:
    """The shape of a result.json: typed metadata, lists of records (a hand-edited or
    foreign file is an error naming the field, not a crash later)."""
    metadata = content["metadata"]
    for name in _WHOLE_FIELDS:
        value = metadata.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ChokepointError(f"{file}: metadata.{name} must be a whole number")
    for name in ("scenario", "description", "scenario_file"):
        if metadata.get(name) is not None and not isinstance(metadata[name], str):
            raise ChokepointError(f"{file}: metadata.{name} must be text")
    for name in ("events", "products", "licensing", "measures"):
        records = content.get(name)
        if records is None:
            continue
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ChokepointError(f"{file}: {name} must be a list of records")
    for number, event in enumerate(content.get("events") or []):
        for name, kind in _EVENT_FIELDS.items():
            value = event.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, kind)):
                raise ChokepointError(f"{file}: events[{number}].{name} has the wrong type")
        for name in ("start_date", "end_date"):
            try:
                dt.date.fromisoformat(str(event.get(name)))
            except ValueError:
                raise ChokepointError(
                    f"{file}: events[{number}].{name} is not a date (YYYY-MM-DD)"
                ) from None


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        return pd.DataFrame()
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise ChokepointError(f"{path}: not a readable Parquet table ({exc})") from None


def recover_scenario(metadata: dict[str, Any]) -> Scenario | None:
    """The scenario of a written run, when its file still exists and still matches.

    A run records ``scenario_file`` (``preset:NAME`` or a path) and a hash of the scenario;
    the file is read again and used only if the hash is the same, so a report never shows
    a scenario that has changed since the run.
    """
    from chokepoint.scenario import load_scenario

    reference = metadata.get("scenario_file")
    if not reference:
        return None
    name = str(reference).removeprefix("preset:")
    try:
        scenario = load_scenario(name).with_overrides(
            draws=metadata.get("draws"), seed=metadata.get("seed")
        )
    except (ChokepointError, OSError):
        return None
    expected = metadata.get("scenario_hash")
    if expected and scenario.digest() != expected:
        return None
    return scenario


def network_of(run: RunData, cache: dict[str, SupplyNetwork] | None = None) -> SupplyNetwork | None:
    """The network a run used, when it can be found again (else None).

    A folder recorded in ``network_path`` is read again; a run on the default network uses
    the shipped data. Either is used only if its data version matches the run's.
    """
    from chokepoint.network.container import SupplyNetwork, load_default

    cache = {} if cache is None else cache
    metadata = run.metadata
    recorded = metadata.get("network_path")
    candidates: list[tuple[str, Any]] = []
    if recorded and Path(str(recorded)).is_dir():
        candidates.append((str(recorded), lambda: SupplyNetwork.from_folder(str(recorded))))
    if recorded is None or metadata.get("network") == "default":
        candidates.append(("default", load_default))
    for key, loader in candidates:
        if key not in cache:
            try:
                cache[key] = loader()
            except ChokepointError:
                continue
        network = cache[key]
        if network.data_version == metadata.get("data_version"):
            return network
    return None


def key_numbers(
    run: RunData, names: Mapping[str, str] | None = None, aggregates: Collection[str] = ()
) -> dict[str, Any]:
    """Headline figures of a run for the EU-27: lost value, lines that stop, licence waits.

    Products in ``aggregates`` (product families reported besides their members, see
    :func:`chokepoint.results.groups.family_aggregates`) are left out so that nothing counts
    twice. ``lost_value`` sums the mean lost value of EU-27 products that have a price in the data;
    ``stopping`` counts products stopping in at least half the draws; ``first_stop`` is the
    one stopping first (median days after the first shock), named from ``names`` if given;
    ``gated_days`` the mean days a licensed contract spends without a valid licence (None
    without licensing).
    """
    eu = run.region_stats()
    if not eu.empty and aggregates:
        eu = eu[~eu["product"].isin(list(aggregates))]
    lost_value = float(eu["lost_value_mean"].fillna(0).sum()) if not eu.empty else 0.0
    likely = eu[eu["stoppage_probability"] >= 0.5] if not eu.empty else eu
    first_stop = None
    if not likely.empty and likely["time_to_survive_days_p50"].notna().any():
        row = likely.iloc[likely["time_to_survive_days_p50"].astype(float).argmin()]
        first_stop = {
            "product": row["product"],
            "name": (names or {}).get(row["product"], row["product"]),
            "days": float(row["time_to_survive_days_p50"]),
        }
    gated = None
    if not run.licences.empty:
        gated = float(run.licences["gated_days_per_contract"].mean())
    return {
        "label": run.label,
        "scenario": run.name,
        "draws": run.metadata.get("draws"),
        "lost_value": lost_value,
        "lost_output_share_max": float(eu["lost_output_share_mean"].fillna(0).max())
        if not eu.empty
        else 0.0,
        "products": int(len(eu)),
        "stopping": int(len(likely)),
        "first_stop": first_stop,
        "gated_days": gated,
        "horizon_days": run.horizon_days,
    }
