"""Settings of the analytics (section ``[aggregates]`` of envgrid.toml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from store.settings import require

__all__ = ["AggregatesSettings"]


@dataclass(frozen=True, slots=True)
class AggregatesSettings:
    """Aggregates, AQI standards, rankings and reports."""

    #: Operator corrections of the standards tables (JSON files with the same ``id``
    #: replace the shipped ones); see aggregates/standards/.
    standards_dir: Path | None = None
    #: When the daily ranking is computed and stored for the notifiers (Asia/Shanghai
    #: wall clock by default, core.timezone).
    daily_ranking_time: str = "08:30"
    #: Where report files are written (default data_dir/reports).
    reports_dir: Path | None = None

    def __post_init__(self) -> None:
        hh, _, mm = self.daily_ranking_time.partition(":")
        require(
            hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60,
            f"aggregates.daily_ranking_time must be HH:MM (got {self.daily_ranking_time!r})",
        )
