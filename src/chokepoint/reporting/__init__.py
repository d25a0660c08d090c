"""Reports: charts of simulation results, a self-contained HTML report and static images.

``report_from_folders([dir], "report.html")`` writes the report on results folders;
``report_from_results([results_a, results_b], path)`` on runs held in memory;
``write_plot(results, "out.png")`` (in :mod:`chokepoint.reporting.static`) the key chart.
"""

from chokepoint.reporting.data import RunData, key_numbers
from chokepoint.reporting.html import (
    build_report,
    report_from_folders,
    report_from_results,
    write_report,
)

__all__ = [
    "RunData",
    "build_report",
    "key_numbers",
    "report_from_folders",
    "report_from_results",
    "write_report",
]
