"""HJ 212 system codes (ST).

Sources: HJ 212-2017 §6.6.1 table 5 (引用 GB/T 16706-1996) and HJ/T 212-2005 §6.5
"系统编码表".  2005 lacks 24-27, 39, 51 and 52, and names 21 "地表水监测" and 23
"区域环境噪声监测".

Ranges (2017 §6.6.1.1): 10-29 environmental quality, 30-49 pollution sources, 50-69 process
("工况") monitoring, 91-99 system interaction, A0-Z9 extensions for unknown systems.

ST codes arrive as text and unknown codes occur in the field, so every function takes a
``str`` and returns None for codes it does not know.  Table 5 itself is data:
``systems.json`` beside this module, read once at import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum, unique
from types import MappingProxyType
from typing import Final

from ._tables import load_table

__all__ = [
    "SYSTEMS",
    "SystemInfo",
    "SystemType",
    "medium",
    "st_category",
    "system_info",
]


@unique
class SystemType(StrEnum):
    """ST codes of HJ 212-2017 table 5 (a superset of the 2005 list) and the two HJ 212-2025
    adds (44, 45)."""

    SURFACE_WATER = "21"
    AMBIENT_AIR = "22"
    ACOUSTIC_ENVIRONMENT = "23"
    GROUNDWATER = "24"
    SOIL = "25"
    SEAWATER = "26"
    VOC = "27"
    AIR_POLLUTION_SOURCE = "31"
    SURFACE_WATER_POLLUTION_SOURCE = "32"
    GROUNDWATER_POLLUTION_SOURCE = "33"
    MARINE_POLLUTION_SOURCE = "34"
    SOIL_POLLUTION_SOURCE = "35"
    NOISE_SOURCE = "36"
    VIBRATION_SOURCE = "37"
    RADIOACTIVE_SOURCE = "38"
    CONSTRUCTION_DUST_SOURCE = "39"
    ELECTROMAGNETIC_SOURCE = "41"
    ELECTRICITY_USE = "44"
    PRODUCTION_CONDITIONS = "45"
    FLUE_GAS_PROCESS = "51"
    WASTEWATER_PROCESS = "52"
    SYSTEM_INTERACTION = "91"


@dataclass(frozen=True, slots=True)
class SystemInfo:
    """One ST code.

    ``category`` is the range class of §6.6.1.1: "quality", "source", "process" or
    "interaction".  ``medium`` is this package's classification of what the station measures
    (used to resolve legacy factor codes): "water", "air", "noise" or "" when none applies.
    ``name_zh_2005`` is the 2005 name where it differs from the 2017 one.
    """

    code: str
    name_zh: str
    name_en: str
    category: str
    editions: frozenset[str]
    medium: str
    name_zh_2005: str = ""


_SYSTEM_LIST: Final[tuple[SystemInfo, ...]] = tuple(
    SystemInfo(code, zh, en, category, frozenset(editions), med, zh_2005)
    for code, zh, en, category, editions, med, zh_2005 in load_table("systems.json")["systems"]
)

SYSTEMS: Final[Mapping[str, SystemInfo]] = MappingProxyType(
    {info.code: info for info in _SYSTEM_LIST}
)
"""ST code → SystemInfo for every code of table 5."""

_MEDIUM: Final[Mapping[str, str]] = MappingProxyType(
    {info.code: info.medium for info in _SYSTEM_LIST if info.medium}
)


def system_info(st: str) -> SystemInfo | None:
    """Description of ``st``, or None when the code is not in table 5."""
    return SYSTEMS.get(st)


def medium(st: str | None) -> str | None:
    """Medium ("water", "air" or "noise") of a known ST that measures one, else None."""
    if st is None:
        return None
    return _MEDIUM.get(st)


def st_category(st: str) -> str | None:
    """Range class of any two-character ST code (§6.6.1.1), known or not.

    Returns "quality" (10-29), "source" (30-49), "process" (50-69), "interaction" (91-99),
    "extension" (A0-Z9) or None for anything else (including the unassigned 00-09, 70-90).
    """
    if len(st) != 2 or not st.isascii():
        return None
    if st.isdigit():
        n = int(st)
        if 10 <= n <= 29:
            return "quality"
        if 30 <= n <= 49:
            return "source"
        if 50 <= n <= 69:
            return "process"
        if 91 <= n <= 99:
            return "interaction"
        return None
    if "A" <= st[0] <= "Z" and st[1].isascii() and st[1].isdigit():
        return "extension"
    return None
