"""HJ 212 data flags (the value of ``xxxxxx-Flag``).

Sources:

* HJ 212-2017 §6.6.4 table 8 (数据标记表, "可扩充"): N F M S D C T B;
* HJ/T 212-2005 §6.3.3.2.3, field ``xxx-Flag``: for pollution sources P F C M T D S N, for
  air-quality stations 0 1 2 3.

The standard defines only the meanings.  Which flags count towards period means is this
platform's rule:

* valid: N (normal), S (manually entered set value), 2005 air "3" (normal) and "1"
  (meteorological parameter);
* excluded from means and counted separately: M, C, D, F, T, B, 2005 P, 2005 air "0"
  (calibration data) and "2" (abnormal data);
* maintenance (device-declared maintenance/fault; such values do not raise data alerts):
  M, C, D, F, P and the 2005 air "0" (calibration, the air-station counterpart of C).

A missing or empty flag means N (the 2005 texts say the flag "可以没有此项").  Flags the
tables do not list (table 8 is extensible) are treated as valid and not maintenance, so
unknown vendor flags never drop data; lower-case spellings of the listed letters are
treated like the upper-case ones.  The 2005 air digits do not collide with any letter, so
the predicates need no edition.

The tables themselves are data: ``flags.json`` beside this module, read once at import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from ._tables import load_table

__all__ = [
    "EXCLUDED_FROM_MEANS",
    "FLAGS_2005_AIR",
    "FLAGS_2005_SOURCE",
    "FLAGS_2017",
    "MAINTENANCE_FLAGS",
    "VALID_FLAGS",
    "FlagInfo",
    "describe",
    "is_maintenance",
    "is_valid",
]


@dataclass(frozen=True, slots=True)
class FlagInfo:
    """Meaning of one flag value in one edition."""

    code: str
    name_zh: str
    name_en: str
    valid_for_statistics: bool
    maintenance: bool


def _table(key: str) -> Mapping[str, FlagInfo]:
    return MappingProxyType({row[0]: FlagInfo(*row) for row in _FLAGS[key]})


_FLAGS: Final[dict[str, Any]] = load_table("flags.json")

FLAGS_2017: Final[Mapping[str, FlagInfo]] = _table("2017")
"""HJ 212-2017 table 8."""

FLAGS_2005_SOURCE: Final[Mapping[str, FlagInfo]] = _table("2005_source")
"""HJ/T 212-2005, xxx-Flag "对于污染源".  Note that F means the *emission source* stopped
here, while 2017 F means the instrument stopped."""

FLAGS_2005_AIR: Final[Mapping[str, FlagInfo]] = _table("2005_air")
"""HJ/T 212-2005, xxx-Flag "对于空气检测站"."""

_ALL_TABLES: Final = (FLAGS_2017, FLAGS_2005_SOURCE, FLAGS_2005_AIR)

EXCLUDED_FROM_MEANS: Final[frozenset[str]] = frozenset(
    code for table in _ALL_TABLES for code, info in table.items() if not info.valid_for_statistics
)
"""Flags whose values are left out of means and counted separately:
M C D F T B P (letters) and the 2005 air-station "0" and "2"."""

VALID_FLAGS: Final[frozenset[str]] = frozenset(
    code for table in _ALL_TABLES for code, info in table.items() if info.valid_for_statistics
)
"""Listed flags whose values count: N S and the 2005 air-station "1" and "3"."""

MAINTENANCE_FLAGS: Final[frozenset[str]] = frozenset(
    code for table in _ALL_TABLES for code, info in table.items() if info.maintenance
)
"""Device-declared maintenance/fault: M C D F P and the 2005 air-station "0"."""

# Hot-path sets that also accept lower-case letters (digits are unaffected by .lower()).
_EXCLUDED_ANY_CASE: Final[frozenset[str]] = EXCLUDED_FROM_MEANS | {
    c.lower() for c in EXCLUDED_FROM_MEANS
}
_MAINTENANCE_ANY_CASE: Final[frozenset[str]] = MAINTENANCE_FLAGS | {
    c.lower() for c in MAINTENANCE_FLAGS
}


def is_valid(flag: str | None) -> bool:
    """True if a value with this flag counts towards means (None/"" mean N)."""
    return not flag or flag not in _EXCLUDED_ANY_CASE


def is_maintenance(flag: str | None) -> bool:
    """True if the flag declares maintenance, calibration, a fault or a stop."""
    return bool(flag) and flag in _MAINTENANCE_ANY_CASE


def describe(flag: str, edition: str) -> FlagInfo | None:
    """Meaning of ``flag`` in ``edition``.

    ``edition`` "2005" looks in the pollution-source table, then the air-station table;
    "2005-source" and "2005-air" pick one table; any other value (e.g. "2017", "2025") uses
    table 8 of 2017.  Returns None for flags the table does not list.
    """
    key = flag.upper()
    if edition == "2005":
        return FLAGS_2005_SOURCE.get(key) or FLAGS_2005_AIR.get(key)
    if edition == "2005-source":
        return FLAGS_2005_SOURCE.get(key)
    if edition == "2005-air":
        return FLAGS_2005_AIR.get(key)
    return FLAGS_2017.get(key)
