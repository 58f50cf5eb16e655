"""Settings of the alert engine (section ``[alerts]`` of envgrid.toml)."""

from __future__ import annotations

from dataclasses import dataclass

from store.settings import require

__all__ = ["AlertSettings"]


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Rules defaults, sweeps and notification channels."""

    #: No data for this long = offline (断线); reminders while it lasts.
    offline_after_s: int = 900
    offline_remind_s: int = 3600
    #: How often the offline sweeper runs.
    sweep_interval_s: float = 30.0

    def __post_init__(self) -> None:
        require(self.offline_after_s > 0, "alerts.offline_after_s must be > 0")
        require(self.offline_remind_s > 0, "alerts.offline_remind_s must be > 0")
        require(self.sweep_interval_s > 0, "alerts.sweep_interval_s must be > 0")
