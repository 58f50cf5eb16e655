"""A station's facilities (treatment plant, analysers): the ``SBx-RS`` running state
of a 2021 status upload and the ``SBx-RT`` daily run hours of a 2041 upload."""

from __future__ import annotations

from collections.abc import Sequence

from .noise import gauss_at, seed_of
from .profiles import StationProfile
from .values import format_value

__all__ = ["runtime_fields", "status_fields"]

_EQUIPMENT_STATE = {"M": 3, "C": 2, "D": 4}  # SBx-RS during a maintenance flag ([S17] §6.3.3)

Fields = list[tuple[str, str | int | float]]


def status_fields(profile: StationProfile, flags: Sequence[str]) -> Fields:
    """2021: facility 1 follows the first maintenance/calibration/fault flag, the others run."""
    first = 1
    for flag in flags:
        if flag in _EQUIPMENT_STATE:
            first = _EQUIPMENT_STATE[flag]
            break
    fields: Fields = [("SB1-RS", first)]
    fields += [(f"SB{i}-RS", 1) for i in range(2, profile.equipment + 1)]
    return fields


def runtime_fields(profile: StationProfile, seed: int, index: int, day_start: float) -> Fields:
    """2041: daily run hours of each facility (a little downtime now and then)."""
    day = int(day_start // 86400)
    out: Fields = []
    for i in range(1, profile.equipment + 1):
        down = abs(gauss_at(seed_of(seed, "runtime", index, i), day))
        out.append((f"SB{i}-RT", format_value(max(0.0, 24.0 - 0.4 * down), 1)))
    return out
