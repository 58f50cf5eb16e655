"""What the case services need from the configuration, resolved once.

:class:`CaseConfig` bundles the ``[cases]`` section with the two process-wide facts the
services use (``core.timezone`` for the work calendar and day boundaries,
``core.data_dir`` for uploads).  Build it once in the entry point with
:meth:`CaseConfig.from_settings` and pass it down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from web.casework.kernel.settings import CaseSettings

__all__ = ["CaseConfig"]


@dataclass(frozen=True, slots=True)
class CaseConfig:
    cases: CaseSettings = field(default_factory=CaseSettings)
    timezone: str = "Asia/Shanghai"
    data_dir: Path = Path("var")

    @classmethod
    def from_settings(cls, settings: Any) -> CaseConfig:
        """From the root :class:`store.settings.Settings` (``cases`` section once wired)."""
        section = getattr(settings, "cases", None)
        return cls(
            cases=section if isinstance(section, CaseSettings) else CaseSettings(),
            timezone=settings.core.timezone,
            data_dir=Path(settings.core.data_dir),
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def uploads_dir(self) -> Path:
        """Photos and files; outside any web root (served only through checked handlers)."""
        return self.data_dir / "uploads"
