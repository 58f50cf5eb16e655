"""HJ 212 monitoring-factor codes (the ``xxxxxx`` in ``xxxxxx-Rtd``) and legacy code mapping.

Sources (HJ 212-2017 App. B, "常用监测因子和设备信息编码表（可扩充）"):

* B.1 water factors (引用 HJ 525-2009), B.2 gas factors (引用 HJ 524-2009), B.3 acoustic
  environment factors (GB 3096-2008) → :data:`FACTORS`;
* B.5 / B.7 process ("工况") factors of wastewater / flue-gas treatment → :data:`FACTORS`
  with the group "process_water" / "process_gas".  Their codes end in ``xx``, the number
  (01-99) of identical devices in one process; :func:`factor` resolves ``e10101`` to the
  ``e101xx`` entry.  B.4 / B.6 (process types) → :data:`PROCESS_TYPES_WATER` /
  :data:`PROCESS_TYPES_GAS`;
* B.8-B.10 field-machine information codes (``i1xxxx`` instrument, ``i2xxxx`` data logger,
  ``i3xxxx`` auxiliary equipment; the values of ``xxxxxx-Info``) → :data:`INFO_FACTORS`,
  :data:`INFO_CODES`, :data:`INFO_VALUES`;
* HJ 212-2025 App. B.2 renames the flue-gas parameters (烟气… → 废气…) without changing
  their codes → :data:`NAMES_2025`; :func:`factor_names` gives the name a station's
  edition uses, so a series keeps one code whichever edition sent it;
* the "原编码" column of B.1/B.2 and HJ/T 212-2005 App. B → :data:`LEGACY_TO_2017`,
  :data:`LEGACY_2005_CODES`.

Units: ``unit_zh`` / ``cou_unit_zh`` keep the standard's wording verbatim ("缺省计量单位
（浓度）/（排放量）"); ``unit`` / ``cou_unit`` are the usual symbols (:data:`UNIT_SYMBOLS`).
They are the standard's *defaults*; real devices differ, so treat units as per-platform
configuration.  Notably B.2 literally gives 纳克/立方米 (ng/m³) for PM10, PM2.5, TSP, NH3 and
some metals (the particulates are shown in µg/m³ and PM2.5 as 细颗粒物 rather than B.2's
细微颗粒物: :data:`CORRECTIONS`, the "corrections" of factors.json), and the 2005 App. B
gives mg/l for every water factor (2017: µg/L or ng/L for Hg, Cd, Cr(VI), As, Pb, Be, Se,
Tl, alkyl-Hg, ...) and MPa for flue-gas pressures (2017: kPa).

Things in the text that are wrong or ambiguous, and what this module does:

* B.5 lists ``e701xx`` twice (污水提升泵 and, after e710xx, 加药量 — probably meant e711xx)
  and B.7 lists ``g119xx`` twice (脱硫率 in the g1xx wet-FGD block and 入口二氧化硫 SO2
  at the head of the inlet/outlet block g119xx-g134xx).  :data:`FACTORS` keeps the first
  definition; :data:`PROCESS_CODE_CLASHES` lists every definition for these codes.
* B.10 prints ``I33400`` (capital I); it is stored as ``i33400`` and :func:`factor` is
  case-insensitive for ``i`` codes.  B.10 gives 摄氏度 as the unit of i33102 (station
  humidity); kept as printed.
* O3 (``a05024``) is **not** in B.2 but is used in practice (HJ 524 code, ambient-air
  platforms); it is included with the unit those platforms use, not one from HJ 212.
* HJ/T 212-2005 App. B swaps the noise names (``Ld`` 夜间 / ``Ln`` 昼间); the 2017 meaning
  (``Ld`` day, ``Ln`` night) is used for both editions.  The 2005 generic ``B03`` 噪声 is
  mapped to ``LA`` (A-weighted level) following the B03 ↔ LA pairing of PROTOCOL.md §5;
  2017 B.3 has no "原编码" column.
* 2005 codes with no 2017 counterpart: ``16`` 苯系物, ``99`` 其他气污染物, ``025`` 三价铬.
  They are in :data:`LEGACY_2005_CODES` with an empty ``code_2017``, not in
  :data:`LEGACY_TO_2017`.

Legacy codes and the station type.  In the texts, old water codes are three digits (or
``B01``) and old gas codes two digits (or ``B02``, ``S01``-``S08``), so no old code string
appears in both tables and :data:`LEGACY_TO_2017` is unambiguous.  Field devices are not
always that tidy (``01`` flue dust vs ``001`` pH, ``10`` NH3 vs ``010`` BOD5 differ only by
a leading zero), so :func:`legacy_to_2017` uses the ST when it names a medium: a water
station (ST 21, 24, 26, 32, 33, 34, 52) only resolves water codes, an air station (22, 27,
31, 39, 51) only gas codes, a noise station (23, 36) only noise codes; a code of the other
medium returns None rather than a wrong factor.  With no ST, ST 91 or an ST without a
medium (25, 35, 37, 38, 41, unknown codes) the union table is used.

The tables themselves are data: ``factors.json`` beside this module, read once at import
and turned into the read-only mappings below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from ._tables import load_table
from .systems import medium as _st_medium

__all__ = [
    "CORRECTIONS",
    "FACILITY_STATES",
    "FACTORS",
    "GROUPS",
    "INFO_CATEGORIES",
    "INFO_CODES",
    "INFO_DEVICE_CLASSES",
    "INFO_FACTORS",
    "INFO_VALUES",
    "LEGACY_2005_CODES",
    "LEGACY_TO_2017",
    "NAMES_2025",
    "PROCESS_CODE_CLASHES",
    "PROCESS_TYPES_GAS",
    "PROCESS_TYPES_WATER",
    "UNIT_SYMBOLS",
    "Factor",
    "LegacyCode",
    "factor",
    "factor_key",
    "factor_names",
    "legacy_to_2017",
    "resolve_factor",
]

GROUPS: Final[frozenset[str]] = frozenset(
    {"water", "air", "noise", "meteorological", "process_water", "process_gas", "info"}
)


@dataclass(frozen=True, slots=True)
class Factor:
    """One monitoring factor.

    ``code`` is the 2017 code (process and some info codes are templates ending in ``x``);
    ``unit`` the default concentration unit, ``cou_unit`` the unit of ``-Cou`` where the
    table gives one (else ""); ``legacy`` the 2005 / "原编码" codes that map to this factor;
    ``data_type`` the default data type as printed (e.g. "N5.2", "" when none is given).
    """

    code: str
    name_zh: str
    name_en: str
    unit: str
    cou_unit: str
    group: str
    legacy: tuple[str, ...]
    data_type: str
    unit_zh: str = ""
    cou_unit_zh: str = ""


@dataclass(frozen=True, slots=True)
class LegacyCode:
    """One row of HJ/T 212-2005 App. B ("常用部分污染物相关参数编码表").

    ``medium`` is "water" (污水), "air" (废气) or "noise" (噪声); ``unit`` and ``data_type``
    are the 2005 ones; ``code_2017`` the 2017 factor it maps to ("" when there is none).
    """

    code: str
    name_zh: str
    medium: str
    unit: str
    data_type: str
    code_2017: str


# The tables of factors.json; each key's columns are described under its "notes".
_TABLES: Final[dict[str, Any]] = load_table("factors.json")


def _rows(key: str) -> list[tuple[str, ...]]:
    return [tuple(str(cell) for cell in row) for row in _TABLES[key]]


def _names(key: str) -> dict[str, tuple[str, str]]:
    return {k: (v[0], v[1]) for k, v in _TABLES[key].items()}


def _numbered(names: Mapping[str, tuple[str, str]]) -> Mapping[int, tuple[str, str]]:
    return MappingProxyType({int(k): v for k, v in names.items()})


UNIT_SYMBOLS: Final[Mapping[str, str]] = MappingProxyType(
    {str(k): str(v) for k, v in _TABLES["unit_symbols"].items()}
)
"""The standard's unit wording → symbol.  "无量纲" (dimensionless) and "--" map to ""."""

INFO_VALUES: Final[Mapping[str, Mapping[int, tuple[str, str]]]] = MappingProxyType(
    {
        code: _numbered({k: (v[0], v[1]) for k, v in values.items()})
        for code, values in _TABLES["info_values"].items()
    }
)
"""Enumerated values of the B.10 status codes (the value of ``ixxxxx-Info``)."""

INFO_DEVICE_CLASSES: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    _names("info_device_classes")
)
"""Table B.8: second character of an ``i`` code → (name_zh, name_en)."""
INFO_CATEGORIES: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(_names("info_categories"))
"""Table B.9: third character of an ``i`` code → (name_zh, name_en)."""
PROCESS_TYPES_WATER: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    _names("process_types_water")
)
"""Table B.4: second character of an ``e`` code → (name_zh, name_en)."""
PROCESS_TYPES_GAS: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    _names("process_types_gas")
)
"""Table B.6: second character of a ``g`` code → (name_zh, name_en)."""
FACILITY_STATES: Final[Mapping[int, tuple[str, str]]] = _numbered(_names("facility_states"))
"""Table 4, SBxxx-RS: running state of a pollution-treatment facility (2005: 0 off, 1 on)."""

_LEGACY_2005_LIST: Final[tuple[LegacyCode, ...]] = tuple(
    LegacyCode(*row) for row in _rows("legacy_2005")
)


def _sym(unit_zh: str) -> str:
    return UNIT_SYMBOLS.get(unit_zh, unit_zh)


def _build_legacy() -> tuple[Mapping[str, Mapping[str, str]], Mapping[str, str]]:
    by_medium: dict[str, dict[str, str]] = {"water": {}, "air": {}, "noise": {}}
    for table, med in (("B1", "water"), ("B2", "air")):
        for row in _rows(table):
            if row[6]:
                by_medium[med][row[6]] = row[0]
    for leg in _LEGACY_2005_LIST:
        if leg.code_2017 and leg.code_2017 != leg.code:
            by_medium[leg.medium].setdefault(leg.code, leg.code_2017)
    union: dict[str, str] = {}
    for table_map in by_medium.values():
        union.update(table_map)
    frozen = {med: MappingProxyType(m) for med, m in by_medium.items()}
    return MappingProxyType(frozen), MappingProxyType(union)


_LEGACY_TABLES: Final = _build_legacy()
_LEGACY_BY_MEDIUM: Final[Mapping[str, Mapping[str, str]]] = _LEGACY_TABLES[0]
LEGACY_TO_2017: Final[Mapping[str, str]] = _LEGACY_TABLES[1]
"""Old code ("原编码" of B.1/B.2 and HJ/T 212-2005 App. B) → 2017 code (all media)."""


def _legacy_of(code: str) -> tuple[str, ...]:
    return tuple(sorted(old for old, new in LEGACY_TO_2017.items() if new == code))


def _plain(code: str, zh: str, en: str, unit_zh: str, dtype: str, group: str) -> Factor:
    """A factor with no ``-Cou`` unit and no legacy code (process and info codes)."""
    return Factor(code, zh, en, _sym(unit_zh), "", group, (), dtype, unit_zh)


CORRECTIONS: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        code: (fix["printed"][0], _sym(fix["printed"][1]))
        for code, fix in _TABLES["corrections"].items()
    }
)
"""Code → (name_zh, unit symbol) as B.2 prints them, for the factors shown otherwise (the
"corrections" of factors.json: 细颗粒物 PM2.5, particulates in µg/m³)."""


def _corrected(code: str, zh: str, unit_zh: str) -> tuple[str, str]:
    fix = _TABLES["corrections"].get(code)
    return (fix["name_zh"], fix["unit_zh"]) if fix else (zh, unit_zh)


def _build_factors() -> Mapping[str, Factor]:
    out: dict[str, Factor] = {}
    for code, printed_zh, en, printed_unit, cou_zh, dtype, _old, group in (
        *_rows("B1"),
        *_rows("B2"),
    ):
        zh, unit_zh = _corrected(code, printed_zh, printed_unit)
        out[code] = Factor(
            code,
            zh,
            en,
            _sym(unit_zh),
            _sym(cou_zh),
            group,
            _legacy_of(code),
            dtype,
            unit_zh,
            cou_zh,
        )
    # Not in B.2: O3 as used by ambient-air platforms (HJ 524 code a05024); unit from that
    # practice (GB 3095 reports O3 in µg/m³), not from HJ 212, hence no unit_zh/data type.
    out["a05024"] = Factor("a05024", "臭氧", "ozone (O3)", "µg/m³", "", "air", (), "")
    for code, zh, en in _rows("B3"):
        out[code] = Factor(code, zh, en, "dB", "", "noise", _legacy_of(code), "N3.1", "分贝")
    for code, zh, en, unit_zh, dtype, group in _rows("process"):
        out[code] = _plain(code, zh, en, unit_zh, dtype, group)
    return MappingProxyType(out)


FACTORS: Final[Mapping[str, Factor]] = _build_factors()
"""2017 code → Factor: B.1, B.2 (+ a05024 O3), B.3, B.5 and B.7 (process codes as templates
ending in ``xx``)."""

INFO_FACTORS: Final[Mapping[str, Factor]] = MappingProxyType(
    {
        code: _plain(code, zh, en, unit_zh, dtype, "info")
        for code, zh, en, unit_zh, dtype in _rows("B10")
    }
)
"""B.10 information code → Factor with group "info" (templates end in ``x``)."""

INFO_CODES: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {code: (f.name_zh, f.name_en) for code, f in INFO_FACTORS.items()}
)
"""B.10 information code → (name_zh, name_en)."""


def _build_clashes() -> Mapping[str, tuple[Factor, ...]]:
    out: dict[str, tuple[Factor, ...]] = {}
    for code, zh, en, unit_zh, dtype in _rows("process_duplicates"):
        first = FACTORS[code]
        second = _plain(code, zh, en, unit_zh, dtype, first.group)
        out[code] = (*out.get(code, (first,)), second)
    return MappingProxyType(out)


PROCESS_CODE_CLASHES: Final[Mapping[str, tuple[Factor, ...]]] = _build_clashes()
"""Process codes B.5/B.7 print more than once → every definition, FACTORS' one first."""

LEGACY_2005_CODES: Final[Mapping[str, LegacyCode]] = MappingProxyType(
    {leg.code: leg for leg in _LEGACY_2005_LIST}
)
"""Every code of HJ/T 212-2005 App. B with its 2005 name, unit and data type."""


def factor_key(code: str) -> str | None:
    """Key of :data:`FACTORS` or :data:`INFO_FACTORS` describing ``code``, or None.

    Exact codes map to themselves; a process instance ``e10101`` / ``g11902`` maps to its
    template ``e101xx`` / ``g119xx``; ``i`` codes are matched case-insensitively and an
    instance ``i33312`` maps to ``i3331x``.
    """
    if code in FACTORS or code in INFO_FACTORS:
        return code
    if len(code) != 6:
        return None
    head = code[0]
    if head in "eg":
        key = code[:4] + "xx"
        return key if key in FACTORS else None
    if head in "iI":
        low = code.lower()
        if low in INFO_FACTORS:
            return low
        key = low[:5] + "x"
        return key if key in INFO_FACTORS else None
    return None


def factor(code: str) -> Factor | None:
    """Factor for a 2017 code (B.1-B.3, B.5, B.7, or a B.10 ``i`` code), else None."""
    found = FACTORS.get(code)
    if found is not None:
        return found
    key = factor_key(code)
    if key is None:
        return None
    return FACTORS.get(key) or INFO_FACTORS.get(key)


def legacy_to_2017(code: str, st: str | None = None) -> str | None:
    """2017 code for an old (2005 / "原编码") code, resolved with the station type ``st``.

    A code that already is a 2017 factor code is returned unchanged (the noise codes ``L5``,
    ``Leq``... are the same in both editions).  Otherwise, when ``st`` names a medium
    (:func:`protocol.systems.medium`: water, air or noise) only that medium's old codes are
    considered; without one the union table :data:`LEGACY_TO_2017` is used.
    """
    if code in FACTORS:
        return code
    med = _st_medium(st)
    if med is None:
        return LEGACY_TO_2017.get(code)
    table = _LEGACY_BY_MEDIUM.get(med)
    return None if table is None else table.get(code)


def resolve_factor(code: str, st: str | None = None) -> Factor | None:
    """Factor for a 2017 code or, failing that, for an old code (see legacy_to_2017)."""
    found = factor(code)
    if found is not None:
        return found
    new = legacy_to_2017(code, st)
    return None if new is None else FACTORS.get(new)


NAMES_2025: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {code: (zh, en) for code, (zh, en) in _TABLES["names_2025"].items()}
)
"""HJ 212-2025 display name of a code renamed in App. B.2 → (name_zh, name_en)."""


def factor_names(code: str, edition: str | None = None) -> tuple[str, str] | None:
    """(name_zh, name_en) of ``code`` as the edition names it: the 2025 name for
    ``edition == "2025"`` where App. B.2 renamed the code, else the 2017 one; None for an
    unknown code."""
    if edition == "2025":
        renamed = NAMES_2025.get(code)
        if renamed is not None:
            return renamed
    found = factor(code)
    if found is None:
        return NAMES_2025.get(code)
    return found.name_zh, found.name_en
