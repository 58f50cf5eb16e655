"""File exports of the pages: an ``aggregates.report_model.Report`` rendered by
``aggregates.exports`` into bytes (in a temporary directory; blocking — call it in a
worker thread).

Text from the registry (station names typed by users, MNs) may hold control characters
that XML-based formats (XLSX, DOCX) cannot store; they are removed first, so an odd
station name never turns an export into a server error.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any, Final

from aggregates.exports import export
from aggregates.report_model import Chart, Report

__all__ = ["clean_text", "export_bytes"]

#: Characters XML 1.0 does not allow (what openpyxl and python-docx refuse).
_ILLEGAL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean_text(value: Any) -> Any:
    return _ILLEGAL.sub("", value) if isinstance(value, str) else value


def _clean(report: Report) -> None:
    report.title = clean_text(report.title)
    report.subtitle = clean_text(report.subtitle)
    report.notes = [clean_text(n) for n in report.notes]
    for table in report.tables:
        table.name = clean_text(table.name)
        table.rows = [[clean_text(v) for v in row] for row in table.rows]
        table.summary = [[clean_text(v) for v in row] for row in table.summary]
    for kind, chart in list(report.charts.items()):
        report.charts[kind] = Chart(
            chart.kind,
            clean_text(chart.title),
            [clean_text(c) for c in chart.categories],
            {clean_text(k): v for k, v in chart.series.items()},
            chart.colors,
            clean_text(chart.y_label),
        )


def export_bytes(
    report: Report, fmt: str, *, chart: str = "line", font: Path | None = None
) -> bytes:
    """``report`` as a ``fmt`` file (xlsx, csv, pdf, docx, png, jpg)."""
    _clean(report)
    with tempfile.TemporaryDirectory(prefix="envgrid-export-") as tmp:
        path = Path(tmp) / f"export.{fmt}"
        export(report, fmt, path, chart=chart, font=font)
        return path.read_bytes()
