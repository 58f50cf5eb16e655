"""Settings of the analytics (section ``[aggregates]`` of envgrid.toml)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from store.settings import StoreConfig
from store.validation import require

__all__ = ["AggregatesConfig", "AggregatesSettings"]


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
    #: Multiplier per factor code turning stored values into the AQI units (ug/m3; CO
    #: mg/m3), for platforms whose stations send mg/m3 (HJ 212 default units), e.g.
    #: ``{a21026 = 1000, a21004 = 1000, a05024 = 1000, a34002 = 1000, a34004 = 1000}``.
    #: Factors not listed are taken as they are.
    unit_factors: dict[str, float] = field(default_factory=dict)
    #: Local days (today included) whose official daily values the refresh job recomputes
    #: for every station on each run; older days are recomputed when late data or a
    #: correction marks them (both engines).  At least 2.
    refresh_window_days: int = 2
    #: How often the official daily/monthly values are refreshed (minutes); the job is run
    #: by the alert engine's scheduler.  One run over 36,000 stations costs about a minute
    #: of database time, so keep it ≥ 15.
    refresh_interval_min: int = 30
    #: TrueType CJK font embedded in PDF exports and used in chart images (unset: the
    #: first of aggregates.exports.CJK_FONT_CANDIDATES, e.g. Debian fonts-wqy-zenhei).
    cjk_font: Path | None = None
    #: Inverse-distance-weighting exponent of the heat-map layer.
    idw_power: float = 2.0
    #: Stations farther than this from a cell are ignored by the heat map (km; 0 = none).
    idw_max_distance_km: float = 0.0

    def __post_init__(self) -> None:
        hh, _, mm = self.daily_ranking_time.partition(":")
        require(
            hh.isascii()
            and hh.isdigit()
            and mm.isascii()
            and mm.isdigit()
            and int(hh) < 24
            and int(mm) < 60,
            f"aggregates.daily_ranking_time must be HH:MM (got {self.daily_ranking_time!r})",
        )
        for code, factor in self.unit_factors.items():
            require(
                math.isfinite(factor) and factor > 0,
                f"aggregates.unit_factors.{code} must be a positive number (got {factor!r})",
            )
        require(
            self.refresh_interval_min >= 1,
            f"aggregates.refresh_interval_min must be ≥ 1 (got {self.refresh_interval_min})",
        )
        require(
            self.refresh_window_days >= 2,
            "aggregates.refresh_window_days must be ≥ 2 (today and yesterday; late data"
            f" older than a day is tracked separately) (got {self.refresh_window_days})",
        )
        require(
            0 < self.idw_power <= 10,
            f"aggregates.idw_power must be in (0, 10] (got {self.idw_power})",
        )
        require(
            self.idw_max_distance_km >= 0,
            f"aggregates.idw_max_distance_km must be ≥ 0, 0 = no limit"
            f" (got {self.idw_max_distance_km})",
        )

    @property
    def ranking_hour_minute(self) -> tuple[int, int]:
        """``daily_ranking_time`` as (hour, minute), for the scheduler."""
        hh, _, mm = self.daily_ranking_time.partition(":")
        return int(hh), int(mm)


class AggregatesConfig(StoreConfig, Protocol):
    """What the aggregates package reads of the root settings (``envgrid.settings.Settings``)."""

    @property
    def aggregates(self) -> AggregatesSettings: ...
