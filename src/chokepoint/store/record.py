"""A store record made from a finished run: what ran, the versions, the key numbers and
where its files were written."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chokepoint.store.db import RunRecord

if TYPE_CHECKING:
    from chokepoint.reporting.data import RunData
    from chokepoint.simulation.run import Results


def record_of(
    run: RunData,
    *,
    run_id: str,
    source: str,
    folder: str | Path,
    owned: bool = False,
    settings: str = "",
    names: Mapping[str, str] | None = None,
    aggregates: Collection[str] = (),
    created: float | None = None,
) -> RunRecord:
    """The record of a run held as :class:`~chokepoint.reporting.data.RunData`; ``names``
    (commodity id to name) names the first line to stop in the key numbers; ``created``
    is when the run was asked for (default: now)."""
    from chokepoint.reporting.data import key_numbers

    meta: dict[str, Any] = run.metadata

    def integer(key: str) -> int | None:
        value = meta.get(key)
        return int(value) if isinstance(value, int | float) and value == value else None

    def text(key: str) -> str | None:
        value = meta.get(key)
        return None if value is None else str(value)

    when = {} if created is None else {"created": created}
    return RunRecord(
        **when,
        id=run_id,
        source=source,
        label=run.label,
        scenario=str(meta.get("scenario") or run.label),
        folder=str(Path(folder).resolve()),
        owned=owned,
        scenario_file=text("scenario_file"),
        scenario_hash=text("scenario_hash"),
        settings=settings,
        seed=integer("seed"),
        draws=integer("draws"),
        horizon_days=integer("horizon_days"),
        network=text("network"),
        data_version=text("data_version"),
        package_version=text("package_version"),
        summary=key_numbers(run, names, aggregates),
    )


def record_of_results(results: Results, **options: Any) -> RunRecord:
    """:func:`record_of` for a run held in memory (what ``simulate`` returned); ``label``
    names it (default: the scenario's name)."""
    from chokepoint.reporting.data import RunData

    label = options.pop("label", None)
    return record_of(RunData.from_results(results, label), **options)
