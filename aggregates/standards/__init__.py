"""Versioned air-quality standards as data: HJ 633 (AQI), GB 3095 (limits), AQCI (综合指数).

The tables live in JSON files beside this module (``hj633-2012.json``, ``hj633-2026.json``,
``gb3095-2012.json``, ``gb3095-2026.json``, ``gb3095-2031.json``, ``aqci-2018.json``,
``aqci-2026.json``).  :func:`load_standards` reads them, then operator override files from
extra directories: a file whose ``id`` equals a shipped one replaces it completely, which is
how an operator corrects a table without a code change.  Every file is validated and every
error names the file and the JSON pointer (RFC 6901) of the offending key.

Selection by date (AQI.md §3 "Which rules apply when"): for a kind of table the registry
picks, among the tables with ``effective_from <= on`` and (``effective_to`` absent or
``on <= effective_to``), the one with the latest ``effective_from``.  With the shipped files
this gives the 2012 rules up to 2026-02-28 and the 2026 rules from 2026-03-01.

Verification markers.  Any JSON object may carry ``"verified": false`` (plus optional
``"note"`` / ``"source"``); it marks that object and everything inside it.  A single number
may be written as a *cell* ``{"value": 60, "verified": false, "source": "..."}``.  The loader
records the pointer of every marked node; :meth:`Standard.unverified` lists them (optionally
below a pointer prefix) and :meth:`Standard.is_verified` answers for one pointer, so the UI
can flag values of the 2026 revision that AQI.md §6 reports from secondary sources only.

File format (``"format": 1``).  Common header: ``kind`` (``aqi``/``limits``/``aqci``),
``id``, ``code`` (shown in results, e.g. ``"HJ 633-2012"``), ``name``, ``effective_from``
(ISO date), optional ``effective_to``, optional ``notes`` (list of strings).  Then by kind:

* ``aqi``: ``iaqi.levels`` (IAQI of each breakpoint row, ``[0, 50, …, 500]``) and
  ``iaqi.columns.<key>`` = ``{pollutant, averaging, unit, breakpoints, above_top?}``, the
  breakpoints aligned with ``iaqi.levels`` (a truncated column such as SO2 1h has fewer);
  ``above_top`` = ``{"rule": "cap" | "not_computed" | "fixed", "iaqi"?, "alternative"?}``
  where ``alternative`` (``{"rule", "iaqi"?, "enabled"}``) replaces the rule when
  ``enabled``; ``reports.hourly|daily.indicators.<input key>`` = ``{column, role?,
  substitute?}`` (roles ``standard``, ``substitute``, ``moving_average``); ``levels``
  (``level, level_cn, category, aqi_min, aqi_max|null, color_name, rgb, hex, cmyk,
  health_effect, advice``; contiguous, hex checked against rgb); ``no_data``
  (``label, color_name, rgb, hex``); ``pollutant_order``; ``reporting_decimals``
  (GB/T 8170 places per pollutant); ``primary_pollutant.aqi_above``;
  ``exceedance_pollutant`` (``enabled``, ``iaqi_above``).
* ``limits``: ``limits`` = list of ``{pollutant, averaging, unit, grade_1, grade_2,
  description?}`` (averaging ``annual``, ``quarterly``, ``24h``, ``8h``, ``1h``).
* ``aqci``: ``indices`` = list of ``{pollutant, statistic: mean|percentile, percentile?,
  of: daily_mean|mda8, s, unit, weight?, statistic_decimals}``; ``decimals`` (of the
  index); ``rounding`` (default variant: ``per_index``, ``rounded_statistics``, ``exact``).

Unknown keys are errors (typos in an override must not pass silently); ``verified``,
``note``, ``notes`` and ``source`` are allowed on every object.

Number handling is exact: JSON numbers are parsed as :class:`decimal.Decimal` and stored as
:class:`fractions.Fraction`; :func:`to_fraction` converts user input the same way (floats via
``repr`` so that ``2.2`` stays exactly 2.2 — AQI.md §1.6, "exact arithmetic is required").
"""

from __future__ import annotations

import itertools
import json
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Literal, NamedTuple, TypeAlias, cast

__all__ = [
    "AQCI_ROUNDINGS",
    "AboveTop",
    "AqciEntry",
    "AqciRounding",
    "AqciTable",
    "AqiTable",
    "IaqiColumn",
    "Indicator",
    "Level",
    "LimitRow",
    "LimitsTable",
    "NoData",
    "NoStandardInForce",
    "Number",
    "ReportSpec",
    "Standard",
    "StandardFileError",
    "StandardRegistry",
    "UnverifiedValue",
    "default_registry",
    "fraction_to_decimal",
    "load_standards",
    "parse_standard",
    "round_half_even",
    "to_fraction",
]

#: Anything accepted as a concentration or statistic.  Floats are converted through their
#: shortest ``repr`` (``Decimal(repr(x))``), never through their binary value.
Number: TypeAlias = int | float | str | Decimal | Fraction

Kind = Literal["aqi", "limits", "aqci"]
FORMAT_VERSION = 1
_META_KEYS = frozenset({"verified", "note", "notes", "source"})
_CELL_KEYS = frozenset({"value", "verified", "note", "source"})


# --------------------------------------------------------------------------------------
# exact numbers


def to_fraction(value: object, what: str = "value") -> Fraction:
    """Convert ``value`` to an exact :class:`Fraction`.

    Accepts ``int`` (not ``bool``), ``Fraction``/rationals, finite ``Decimal``, finite
    ``float`` (through ``Decimal(repr(value))``, so ``2.2`` is 11/5 and not the binary
    approximation — AQI.md §1.6) and numeric strings (``"2.2"``, ``" 35 "``, ``"1e2"``).
    Raises :class:`ValueError` naming ``what`` for anything else (including NaN/infinity).
    """
    if isinstance(value, bool):
        raise ValueError(f"{what}: not a number: {value!r}")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{what}: not a finite number: {value!r}")
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{what}: not a finite number: {value!r}")
        # float(): numpy.float64 is a float subclass whose repr is "np.float64(…)"
        return Fraction(Decimal(repr(float(value))))
    if isinstance(value, str):
        try:
            dec = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{what}: not a number: {value!r}") from None
        if not dec.is_finite():
            raise ValueError(f"{what}: not a finite number: {value!r}")
        return Fraction(dec)
    if isinstance(value, numbers.Integral):
        return Fraction(int(value))
    if isinstance(value, numbers.Rational):
        return Fraction(int(value.numerator), int(value.denominator))
    if isinstance(value, numbers.Real):  # e.g. numpy.float32
        return to_fraction(float(value), what)
    raise ValueError(f"{what}: not a number: {value!r}")


def round_half_even(value: Fraction, decimals: int) -> Fraction:
    """Round exactly to ``decimals`` places, ties to even (GB/T 8170 "四舍六入五成双")."""
    scale = Fraction(10) ** decimals
    return Fraction(round(value * scale)) / scale


def fraction_to_decimal(value: Fraction, decimals: int) -> Decimal:
    """Round half-even to ``decimals`` places and return a :class:`Decimal` with exactly
    that many places (``Decimal('2.2')``, ``Decimal('5.30')``, ``Decimal('35')``)."""
    scaled = round(value * Fraction(10) ** decimals)
    return Decimal(scaled).scaleb(-decimals)


# --------------------------------------------------------------------------------------
# errors and JSON reading helpers


class NoStandardInForce(LookupError):
    """No standard of the kind applies on the day asked for (e.g. before the first one
    took effect); callers that take dates from users answer it as bad input."""


class StandardFileError(ValueError):
    """A standards file is unreadable or malformed; the message names file and key."""


def _ptr(base: str, key: str | int) -> str:
    token = str(key).replace("~", "~0").replace("/", "~1")
    return f"{base}/{token}"


@dataclass(frozen=True, slots=True)
class _Ctx:
    file: str

    def err(self, pointer: str, msg: str) -> StandardFileError:
        where = pointer or "/"
        return StandardFileError(f"{self.file}: {where}: {msg}")

    def obj(
        self,
        pointer: str,
        value: object,
        required: Iterable[str] = (),
        optional: Iterable[str] = (),
        *,
        open_keys: bool = False,
    ) -> dict[str, object]:
        if not isinstance(value, dict):
            raise self.err(pointer, f"expected an object, got {_type_name(value)}")
        obj = cast(dict[str, object], value)
        req = set(required)
        for key in req:
            if key not in obj:
                raise self.err(_ptr(pointer, key), "required key is missing")
        if not open_keys:
            allowed = req | set(optional) | _META_KEYS
            for key in obj:
                if key not in allowed:
                    raise self.err(
                        _ptr(pointer, key),
                        f"unknown key (allowed: {', '.join(sorted(allowed))})",
                    )
        self.meta(pointer, obj)
        return obj

    def meta(self, pointer: str, obj: Mapping[str, object]) -> None:
        if "verified" in obj and not isinstance(obj["verified"], bool):
            raise self.err(_ptr(pointer, "verified"), "must be true or false")
        for key in ("note", "source"):
            if key in obj and not isinstance(obj[key], str):
                raise self.err(_ptr(pointer, key), "must be a string")
        if "notes" in obj:
            notes = obj["notes"]
            if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
                raise self.err(_ptr(pointer, "notes"), "must be a list of strings")

    def lst(self, pointer: str, value: object, *, min_len: int = 0) -> list[object]:
        if not isinstance(value, list):
            raise self.err(pointer, f"expected a list, got {_type_name(value)}")
        if len(value) < min_len:
            raise self.err(pointer, f"expected at least {min_len} entries")
        return cast(list[object], value)

    def string(self, pointer: str, value: object) -> str:
        """A non-empty string, or a cell ``{"value": "...", "verified": ..}``."""
        if isinstance(value, dict):
            cell = self.obj(pointer, value, required=("value",), optional=_CELL_KEYS)
            return self.string(_ptr(pointer, "value"), cell["value"])
        if not isinstance(value, str) or not value.strip():
            raise self.err(pointer, f"expected a non-empty string, got {_type_name(value)}")
        return value

    def opt_string(self, pointer: str, value: object) -> str | None:
        return None if value is None else self.string(pointer, value)

    def boolean(self, pointer: str, value: object) -> bool:
        if not isinstance(value, bool):
            raise self.err(pointer, f"expected true or false, got {_type_name(value)}")
        return value

    def integer(self, pointer: str, value: object, *, minimum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.err(pointer, f"expected an integer, got {_type_name(value)}")
        if minimum is not None and value < minimum:
            raise self.err(pointer, f"must be >= {minimum}")
        return value

    def number(self, pointer: str, value: object) -> Fraction:
        """A number, a numeric string or a cell ``{"value": n, "verified": ..}``."""
        if isinstance(value, dict):
            cell = self.obj(pointer, value, required=("value",), optional=_CELL_KEYS)
            return self.number(_ptr(pointer, "value"), cell["value"])
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            raise self.err(pointer, f"expected a number, got {_type_name(value)}")
        try:
            return to_fraction(value)
        except ValueError as exc:
            raise self.err(pointer, str(exc)) from None

    def day(self, pointer: str, value: object) -> date:
        text = self.string(pointer, value)
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise self.err(pointer, f"expected an ISO date YYYY-MM-DD, got {text!r}") from None


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | Decimal):
        return "number"
    return type(value).__name__


def _plain(value: object) -> object:
    """Strip cell wrappers and convert Decimals, for reporting unverified values."""
    if isinstance(value, dict):
        d = cast(dict[str, object], value)
        if "value" in d and set(d) <= _CELL_KEYS:
            return _plain(d["value"])
        return {k: _plain(v) for k, v in d.items() if k not in _META_KEYS}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return Fraction(value)
    return value


# --------------------------------------------------------------------------------------
# data model


@dataclass(frozen=True, slots=True)
class UnverifiedValue:
    """A node of a standards file marked ``"verified": false``.

    ``pointer`` is the RFC 6901 JSON pointer inside the file (``/iaqi/columns/PM2.5_24h/
    breakpoints/2``); ``value`` the node with cell wrappers removed (numbers as Fraction).
    """

    pointer: str
    value: object
    note: str | None
    source: str | None


def _collect_unverified(node: object, pointer: str, out: list[UnverifiedValue]) -> None:
    if isinstance(node, dict):
        d = cast(dict[str, object], node)
        if d.get("verified") is False:
            note, source = d.get("note"), d.get("source")
            out.append(
                UnverifiedValue(
                    pointer=pointer or "/",
                    value=_plain(d),
                    note=note if isinstance(note, str) else None,
                    source=source if isinstance(source, str) else None,
                )
            )
        for key, child in d.items():
            if key not in _META_KEYS:
                _collect_unverified(child, _ptr(pointer, key), out)
    elif isinstance(node, list):
        for i, child in enumerate(node):
            _collect_unverified(child, _ptr(pointer, i), out)


def _touches(pointer: str, marked: str) -> bool:
    """True when ``marked`` is ``pointer``, an ancestor of it or a descendant of it."""
    if marked == "/":
        return True
    return marked == pointer or pointer.startswith(marked + "/") or marked.startswith(pointer + "/")


@dataclass(frozen=True, slots=True)
class Standard:
    """Common header of every standards file."""

    id: str
    kind: Kind
    code: str
    name: str
    effective_from: date
    effective_to: date | None
    source_file: str
    notes: tuple[str, ...]
    unverified_values: tuple[UnverifiedValue, ...]

    def applies_on(self, on: date) -> bool:
        """Whether the table is in force for data of day ``on``."""
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def unverified(self, prefix: str = "") -> tuple[UnverifiedValue, ...]:
        """Unverified nodes at or below JSON pointer ``prefix`` (all when empty), plus any
        marked ancestor of ``prefix`` (which makes the whole prefix unverified)."""
        if not prefix:
            return self.unverified_values
        return tuple(u for u in self.unverified_values if _touches(prefix, u.pointer))

    def is_verified(self, pointer: str) -> bool:
        """False when the node at ``pointer``, an ancestor or anything inside it is marked."""
        return not self.unverified(pointer)


@dataclass(frozen=True, slots=True)
class AboveTop:
    """What a concentration above a column's last breakpoint gives (AQI.md §1.6).

    ``cap``: the IAQI of the last breakpoint (500 for full columns); ``not_computed``: no
    IAQI (``None``; HJ 633-2012 Table 1 notes 2 and 3); ``fixed``: the constant ``iaqi``.
    """

    rule: Literal["cap", "not_computed", "fixed"]
    iaqi: int | None = None


@dataclass(frozen=True, slots=True)
class IaqiColumn:
    """One column of HJ 633 Table 1: breakpoints aligned with the IAQI levels."""

    key: str
    pollutant: str
    averaging: str
    unit: str
    iaqi_levels: tuple[int, ...]
    breakpoints: tuple[Fraction, ...]
    above_top: AboveTop
    pointer: str


IndicatorRole = Literal["standard", "substitute", "moving_average"]


@dataclass(frozen=True, slots=True)
class Indicator:
    """An input of a report (``SO2_1h``, ``O3_8h_max`` ...) and the column it is indexed on.

    ``role``: ``standard`` enters max(); ``substitute`` enters only in place of an indicator
    whose IAQI is not computed (SO2 24h for SO2 1h > 800); ``moving_average`` enters only
    when the caller opts in (the alternative reading of HJ 633 §5 real-time indicators).
    """

    key: str
    column: str
    pollutant: str
    role: IndicatorRole
    substitute: str | None
    pointer: str


@dataclass(frozen=True, slots=True)
class ReportSpec:
    name: str
    indicators: Mapping[str, Indicator]


@dataclass(frozen=True, slots=True)
class Level:
    """A row of HJ 633 Table 2 with the Appendix A colour values (AQI.md §1.4)."""

    level: int
    level_cn: str
    category: str
    aqi_min: int
    aqi_max: int | None
    color_name: str
    rgb: tuple[int, int, int]
    hex: str
    cmyk: tuple[int, int, int, int]
    health_effect: str
    advice: str
    verified: bool


@dataclass(frozen=True, slots=True)
class NoData:
    """How "no AQI" is shown (platform convention, not part of HJ 633)."""

    label: str
    color_name: str
    rgb: tuple[int, int, int]
    hex: str


@dataclass(frozen=True, slots=True)
class AqiTable(Standard):
    """HJ 633 tables: IAQI breakpoints, report definitions, levels and colours."""

    iaqi_levels: tuple[int, ...]
    columns: Mapping[str, IaqiColumn]
    reports: Mapping[str, ReportSpec]
    levels: tuple[Level, ...]
    no_data: NoData
    pollutant_order: tuple[str, ...]
    reporting_decimals: Mapping[str, int]
    primary_above: int
    exceedance_above: int | None

    def column_for(self, key: str) -> IaqiColumn:
        """The column for a column key (``SO2_24h``) or a report indicator (``PM2.5_1h``,
        ``O3_8h_max``); raises ``KeyError`` naming the key otherwise."""
        col = self.columns.get(key)
        if col is not None:
            return col
        for report in self.reports.values():
            ind = report.indicators.get(key)
            if ind is not None:
                return self.columns[ind.column]
        raise KeyError(f"unknown pollutant column {key!r} in {self.code}")


@dataclass(frozen=True, slots=True)
class LimitRow:
    """GB 3095 concentration limit of one pollutant and averaging time (AQI.md §4)."""

    pollutant: str
    averaging: str
    unit: str
    grade_1: Fraction
    grade_2: Fraction
    description: str | None
    verified: bool


@dataclass(frozen=True, slots=True)
class LimitsTable(Standard):
    rows: tuple[LimitRow, ...]

    def row(self, pollutant: str, averaging: str) -> LimitRow:
        for r in self.rows:
            if r.pollutant == pollutant and r.averaging == averaging:
                return r
        raise KeyError(f"no {pollutant} {averaging} limit in {self.code}")

    def limit(self, pollutant: str, averaging: str, grade: int = 2) -> Fraction:
        """The grade-I (``grade=1``) or grade-II (default) limit."""
        r = self.row(pollutant, averaging)
        if grade == 1:
            return r.grade_1
        if grade == 2:
            return r.grade_2
        raise ValueError(f"grade must be 1 or 2, not {grade!r}")


AqciStatistic = Literal["mean", "percentile"]
AqciSource = Literal["daily_mean", "mda8"]
AqciRounding = Literal["per_index", "rounded_statistics", "exact"]
AQCI_ROUNDINGS: tuple[AqciRounding, ...] = ("per_index", "rounded_statistics", "exact")


@dataclass(frozen=True, slots=True)
class AqciEntry:
    """One term of the composite index: I_i = C_i / S_i, weighted (AQI.md §2.4)."""

    pollutant: str
    statistic: AqciStatistic
    percentile: Fraction | None
    source: AqciSource
    s: Fraction
    unit: str
    weight: Fraction
    statistic_decimals: int
    verified: bool


@dataclass(frozen=True, slots=True)
class AqciTable(Standard):
    entries: tuple[AqciEntry, ...]
    decimals: int
    rounding: AqciRounding

    def entry(self, pollutant: str) -> AqciEntry:
        for e in self.entries:
            if e.pollutant == pollutant:
                return e
        raise KeyError(f"no composite-index term for {pollutant!r} in {self.code}")

    @property
    def pollutants(self) -> tuple[str, ...]:
        return tuple(e.pollutant for e in self.entries)


# --------------------------------------------------------------------------------------
# parsing


class _Header(NamedTuple):
    """The fields of :class:`Standard`, in order."""

    id: str
    kind: Kind
    code: str
    name: str
    effective_from: date
    effective_to: date | None
    source_file: str
    notes: tuple[str, ...]
    unverified_values: tuple[UnverifiedValue, ...]


def _parse_header(ctx: _Ctx, doc: dict[str, object]) -> _Header:
    fmt = ctx.integer("/format", doc["format"])
    if fmt != FORMAT_VERSION:
        raise ctx.err("/format", f"unsupported format {fmt} (this version reads {FORMAT_VERSION})")
    kind = ctx.string("/kind", doc["kind"])
    if kind not in ("aqi", "limits", "aqci"):
        raise ctx.err("/kind", f"must be 'aqi', 'limits' or 'aqci', not {kind!r}")
    eff_from = ctx.day("/effective_from", doc["effective_from"])
    eff_to = doc.get("effective_to")
    eff_to_d = None if eff_to is None else ctx.day("/effective_to", eff_to)
    if eff_to_d is not None and eff_to_d < eff_from:
        raise ctx.err("/effective_to", "is before effective_from")
    unverified: list[UnverifiedValue] = []
    _collect_unverified(doc, "", unverified)
    notes = doc.get("notes", [])
    return _Header(
        id=ctx.string("/id", doc["id"]),
        kind=cast(Kind, kind),
        code=ctx.string("/code", doc["code"]),
        name=ctx.string("/name", doc["name"]),
        effective_from=eff_from,
        effective_to=eff_to_d,
        source_file=ctx.file,
        notes=tuple(cast(list[str], notes)),
        unverified_values=tuple(unverified),
    )


_HEADER_REQUIRED = ("format", "kind", "id", "code", "name", "effective_from")
_HEADER_OPTIONAL = ("effective_to",)


def _verified_at(pointer: str, unverified: Sequence[UnverifiedValue]) -> bool:
    return not any(_touches(pointer, u.pointer) for u in unverified)


def _rgb(ctx: _Ctx, pointer: str, value: object, n: int) -> tuple[int, ...]:
    items = ctx.lst(pointer, value)
    if len(items) != n:
        raise ctx.err(pointer, f"expected {n} integers")
    out = tuple(ctx.integer(_ptr(pointer, i), v, minimum=0) for i, v in enumerate(items))
    limit = 255 if n == 3 else 100
    for i, v in enumerate(out):
        if v > limit:
            raise ctx.err(_ptr(pointer, i), f"must be <= {limit}")
    return out


def _hex_of(rgb: Sequence[int]) -> str:
    return "#{:02X}{:02X}{:02X}".format(*rgb)


def _check_hex(ctx: _Ctx, pointer: str, value: object, rgb: Sequence[int]) -> str:
    text = ctx.string(pointer, value)
    if text.upper() != _hex_of(rgb):
        raise ctx.err(pointer, f"{text!r} does not match rgb {list(rgb)} ({_hex_of(rgb)})")
    return text.upper()


def _parse_above_top(ctx: _Ctx, pointer: str, value: object, *, nested: bool = False) -> AboveTop:
    """``{"rule": ..., "iaqi"?: n, "alternative"?: {"rule": .., "enabled": bool, ...}}``.

    The alternative (used for unverified claims, e.g. aqi-hub's HJ 633—2026 "SO2 1h > 800
    gives 200") replaces the rule only when its ``enabled`` is true.
    """
    if nested:
        obj = ctx.obj(pointer, value, required=("rule", "enabled"), optional=("iaqi",))
    else:
        obj = ctx.obj(pointer, value, required=("rule",), optional=("iaqi", "alternative"))
    rule = ctx.string(_ptr(pointer, "rule"), obj["rule"])
    if rule not in ("cap", "not_computed", "fixed"):
        raise ctx.err(_ptr(pointer, "rule"), f"must be cap, not_computed or fixed, not {rule!r}")
    iaqi: int | None = None
    if rule == "fixed":
        if "iaqi" not in obj:
            raise ctx.err(_ptr(pointer, "iaqi"), "required when rule is 'fixed'")
        iaqi = ctx.integer(_ptr(pointer, "iaqi"), obj["iaqi"], minimum=0)
    elif "iaqi" in obj:
        raise ctx.err(_ptr(pointer, "iaqi"), "only allowed when rule is 'fixed'")
    this = AboveTop(rule=cast(Literal["cap", "not_computed", "fixed"], rule), iaqi=iaqi)
    if nested:
        ctx.boolean(_ptr(pointer, "enabled"), obj["enabled"])
        return this
    if "alternative" in obj:
        alt_ptr = _ptr(pointer, "alternative")
        alt = _parse_above_top(ctx, alt_ptr, obj["alternative"], nested=True)
        if cast(dict[str, object], obj["alternative"])["enabled"] is True:
            return alt
    return this


def _parse_aqi(ctx: _Ctx, doc: dict[str, object], header: _Header) -> AqiTable:
    unverified = header.unverified_values
    iaqi_obj = ctx.obj("/iaqi", doc["iaqi"], required=("levels", "columns"))
    lv_items = ctx.lst("/iaqi/levels", iaqi_obj["levels"], min_len=2)
    iaqi_levels = tuple(
        ctx.integer(_ptr("/iaqi/levels", i), v, minimum=0) for i, v in enumerate(lv_items)
    )
    if iaqi_levels[0] != 0 or any(a >= b for a, b in itertools.pairwise(iaqi_levels)):
        raise ctx.err("/iaqi/levels", "must start at 0 and increase strictly")

    cols_ptr = "/iaqi/columns"
    cols_obj = ctx.obj(cols_ptr, iaqi_obj["columns"], open_keys=True)
    columns: dict[str, IaqiColumn] = {}
    for key, raw in cols_obj.items():
        if key in _META_KEYS:
            continue
        p = _ptr(cols_ptr, key)
        col = ctx.obj(
            p,
            raw,
            required=("pollutant", "averaging", "unit", "breakpoints"),
            optional=("above_top",),
        )
        bp_items = ctx.lst(_ptr(p, "breakpoints"), col["breakpoints"], min_len=2)
        if len(bp_items) > len(iaqi_levels):
            raise ctx.err(
                _ptr(p, "breakpoints"), f"more entries than /iaqi/levels ({len(iaqi_levels)})"
            )
        bps = tuple(ctx.number(_ptr(_ptr(p, "breakpoints"), i), v) for i, v in enumerate(bp_items))
        if bps[0] != 0:
            raise ctx.err(_ptr(_ptr(p, "breakpoints"), 0), "the first breakpoint must be 0")
        for i in range(1, len(bps)):
            if bps[i] <= bps[i - 1]:
                raise ctx.err(_ptr(_ptr(p, "breakpoints"), i), "breakpoints must increase strictly")
        above = (
            _parse_above_top(ctx, _ptr(p, "above_top"), col["above_top"])
            if "above_top" in col
            else AboveTop("cap")
        )
        columns[key] = IaqiColumn(
            key=key,
            pollutant=ctx.string(_ptr(p, "pollutant"), col["pollutant"]),
            averaging=ctx.string(_ptr(p, "averaging"), col["averaging"]),
            unit=ctx.string(_ptr(p, "unit"), col["unit"]),
            iaqi_levels=iaqi_levels[: len(bps)],
            breakpoints=bps,
            above_top=above,
            pointer=p,
        )
    if not columns:
        raise ctx.err(cols_ptr, "no columns")

    reports_obj = ctx.obj("/reports", doc["reports"], required=("hourly", "daily"))
    reports: dict[str, ReportSpec] = {}
    for rname in ("hourly", "daily"):
        rp = _ptr("/reports", rname)
        robj = ctx.obj(rp, reports_obj[rname], required=("indicators",))
        iptr = _ptr(rp, "indicators")
        inds_obj = ctx.obj(iptr, robj["indicators"], open_keys=True)
        inds: dict[str, Indicator] = {}
        for ikey, iraw in inds_obj.items():
            if ikey in _META_KEYS:
                continue
            ip = _ptr(iptr, ikey)
            iobj = ctx.obj(ip, iraw, required=("column",), optional=("role", "substitute"))
            column = ctx.string(_ptr(ip, "column"), iobj["column"])
            if column not in columns:
                raise ctx.err(_ptr(ip, "column"), f"no column {column!r} in /iaqi/columns")
            role = ctx.string(_ptr(ip, "role"), iobj.get("role", "standard"))
            if role not in ("standard", "substitute", "moving_average"):
                raise ctx.err(_ptr(ip, "role"), "must be standard, substitute or moving_average")
            sub = ctx.opt_string(_ptr(ip, "substitute"), iobj.get("substitute"))
            inds[ikey] = Indicator(
                key=ikey,
                column=column,
                pollutant=columns[column].pollutant,
                role=cast(IndicatorRole, role),
                substitute=sub,
                pointer=ip,
            )
        for ind in inds.values():
            if ind.substitute is not None:
                sp = _ptr(ind.pointer, "substitute")
                if ind.substitute not in inds:
                    raise ctx.err(sp, f"no indicator {ind.substitute!r} in this report")
                if inds[ind.substitute].pollutant != ind.pollutant:
                    raise ctx.err(sp, "a substitute must measure the same pollutant")
        if not any(i.role == "standard" for i in inds.values()):
            raise ctx.err(iptr, "needs at least one indicator with role 'standard'")
        reports[rname] = ReportSpec(name=rname, indicators=MappingProxyType(inds))

    lv_ptr = "/levels"
    level_items = ctx.lst(lv_ptr, doc["levels"], min_len=1)
    levels: list[Level] = []
    for i, raw in enumerate(level_items):
        p = _ptr(lv_ptr, i)
        lo = ctx.obj(
            p,
            raw,
            required=(
                "level",
                "level_cn",
                "category",
                "aqi_min",
                "aqi_max",
                "color_name",
                "rgb",
                "hex",
                "cmyk",
                "health_effect",
                "advice",
            ),
        )
        rgb = cast(tuple[int, int, int], _rgb(ctx, _ptr(p, "rgb"), lo["rgb"], 3))
        aqi_min = ctx.integer(_ptr(p, "aqi_min"), lo["aqi_min"], minimum=0)
        aqi_max = (
            None
            if lo["aqi_max"] is None
            else ctx.integer(_ptr(p, "aqi_max"), lo["aqi_max"], minimum=aqi_min)
        )
        expected_min = 0 if not levels else (levels[-1].aqi_max or 0) + 1
        if levels and levels[-1].aqi_max is None:
            raise ctx.err(p, "a level follows the open-ended level")
        if aqi_min != expected_min:
            raise ctx.err(_ptr(p, "aqi_min"), f"must be {expected_min} (levels must be contiguous)")
        levels.append(
            Level(
                level=ctx.integer(_ptr(p, "level"), lo["level"], minimum=1),
                level_cn=ctx.string(_ptr(p, "level_cn"), lo["level_cn"]),
                category=ctx.string(_ptr(p, "category"), lo["category"]),
                aqi_min=aqi_min,
                aqi_max=aqi_max,
                color_name=ctx.string(_ptr(p, "color_name"), lo["color_name"]),
                rgb=rgb,
                hex=_check_hex(ctx, _ptr(p, "hex"), lo["hex"], rgb),
                cmyk=cast(tuple[int, int, int, int], _rgb(ctx, _ptr(p, "cmyk"), lo["cmyk"], 4)),
                health_effect=ctx.string(_ptr(p, "health_effect"), lo["health_effect"]),
                advice=ctx.string(_ptr(p, "advice"), lo["advice"]),
                verified=_verified_at(p, unverified),
            )
        )
    top = max(iaqi_levels)
    if levels[-1].aqi_max is not None and levels[-1].aqi_max < top:
        raise ctx.err(_ptr(lv_ptr, len(levels) - 1), f"levels must cover AQI up to {top}")

    nd = ctx.obj("/no_data", doc["no_data"], required=("label", "color_name", "rgb", "hex"))
    nd_rgb = cast(tuple[int, int, int], _rgb(ctx, "/no_data/rgb", nd["rgb"], 3))
    no_data = NoData(
        label=ctx.string("/no_data/label", nd["label"]),
        color_name=ctx.string("/no_data/color_name", nd["color_name"]),
        rgb=nd_rgb,
        hex=_check_hex(ctx, "/no_data/hex", nd["hex"], nd_rgb),
    )

    order_items = ctx.lst("/pollutant_order", doc["pollutant_order"], min_len=1)
    order = tuple(ctx.string(_ptr("/pollutant_order", i), v) for i, v in enumerate(order_items))
    for c in columns.values():
        if c.pollutant not in order:
            raise ctx.err("/pollutant_order", f"pollutant {c.pollutant!r} is missing")

    dec_obj = ctx.obj("/reporting_decimals", doc["reporting_decimals"], open_keys=True)
    decimals = {
        k: ctx.integer(_ptr("/reporting_decimals", k), v, minimum=0)
        for k, v in dec_obj.items()
        if k not in _META_KEYS
    }
    for pol in order:
        if pol not in decimals:
            raise ctx.err(_ptr("/reporting_decimals", pol), "required key is missing")

    prim = ctx.obj("/primary_pollutant", doc["primary_pollutant"], required=("aqi_above",))
    exc = ctx.obj(
        "/exceedance_pollutant", doc["exceedance_pollutant"], required=("enabled", "iaqi_above")
    )
    exc_enabled = ctx.boolean("/exceedance_pollutant/enabled", exc["enabled"])
    exc_above = ctx.integer("/exceedance_pollutant/iaqi_above", exc["iaqi_above"], minimum=0)

    return AqiTable(
        *header,
        iaqi_levels=iaqi_levels,
        columns=MappingProxyType(columns),
        reports=MappingProxyType(reports),
        levels=tuple(levels),
        no_data=no_data,
        pollutant_order=order,
        reporting_decimals=MappingProxyType(decimals),
        primary_above=ctx.integer("/primary_pollutant/aqi_above", prim["aqi_above"], minimum=0),
        exceedance_above=exc_above if exc_enabled else None,
    )


def _parse_limits(ctx: _Ctx, doc: dict[str, object], header: _Header) -> LimitsTable:
    unverified = header.unverified_values
    items = ctx.lst("/limits", doc["limits"], min_len=1)
    rows: list[LimitRow] = []
    seen: set[tuple[str, str]] = set()
    for i, raw in enumerate(items):
        p = _ptr("/limits", i)
        ro = ctx.obj(
            p,
            raw,
            required=("pollutant", "averaging", "unit", "grade_1", "grade_2"),
            optional=("description",),
        )
        pol = ctx.string(_ptr(p, "pollutant"), ro["pollutant"])
        avg = ctx.string(_ptr(p, "averaging"), ro["averaging"])
        if (pol, avg) in seen:
            raise ctx.err(p, f"duplicate row for {pol} {avg}")
        seen.add((pol, avg))
        rows.append(
            LimitRow(
                pollutant=pol,
                averaging=avg,
                unit=ctx.string(_ptr(p, "unit"), ro["unit"]),
                grade_1=ctx.number(_ptr(p, "grade_1"), ro["grade_1"]),
                grade_2=ctx.number(_ptr(p, "grade_2"), ro["grade_2"]),
                description=ctx.opt_string(_ptr(p, "description"), ro.get("description")),
                verified=_verified_at(p, unverified),
            )
        )
    return LimitsTable(*header, rows=tuple(rows))


def _parse_aqci(ctx: _Ctx, doc: dict[str, object], header: _Header) -> AqciTable:
    unverified = header.unverified_values
    items = ctx.lst("/indices", doc["indices"], min_len=1)
    entries: list[AqciEntry] = []
    for i, raw in enumerate(items):
        p = _ptr("/indices", i)
        eo = ctx.obj(
            p,
            raw,
            required=("pollutant", "statistic", "of", "s", "unit", "statistic_decimals"),
            optional=("percentile", "weight"),
        )
        pol = ctx.string(_ptr(p, "pollutant"), eo["pollutant"])
        if any(e.pollutant == pol for e in entries):
            raise ctx.err(_ptr(p, "pollutant"), f"duplicate pollutant {pol!r}")
        stat = ctx.string(_ptr(p, "statistic"), eo["statistic"])
        if stat not in ("mean", "percentile"):
            raise ctx.err(_ptr(p, "statistic"), "must be 'mean' or 'percentile'")
        pct: Fraction | None = None
        if stat == "percentile":
            if "percentile" not in eo:
                raise ctx.err(_ptr(p, "percentile"), "required when statistic is 'percentile'")
            pct = ctx.number(_ptr(p, "percentile"), eo["percentile"])
            if not 0 <= pct <= 100:
                raise ctx.err(_ptr(p, "percentile"), "must be between 0 and 100")
        elif "percentile" in eo:
            raise ctx.err(_ptr(p, "percentile"), "only allowed when statistic is 'percentile'")
        src = ctx.string(_ptr(p, "of"), eo["of"])
        if src not in ("daily_mean", "mda8"):
            raise ctx.err(_ptr(p, "of"), "must be 'daily_mean' or 'mda8'")
        s = ctx.number(_ptr(p, "s"), eo["s"])
        if s <= 0:
            raise ctx.err(_ptr(p, "s"), "must be positive")
        weight = ctx.number(_ptr(p, "weight"), eo["weight"]) if "weight" in eo else Fraction(1)
        if weight <= 0:
            raise ctx.err(_ptr(p, "weight"), "must be positive")
        entries.append(
            AqciEntry(
                pollutant=pol,
                statistic=cast(AqciStatistic, stat),
                percentile=pct,
                source=cast(AqciSource, src),
                s=s,
                unit=ctx.string(_ptr(p, "unit"), eo["unit"]),
                weight=weight,
                statistic_decimals=ctx.integer(
                    _ptr(p, "statistic_decimals"), eo["statistic_decimals"], minimum=0
                ),
                verified=_verified_at(p, unverified),
            )
        )
    rounding = ctx.string("/rounding", doc["rounding"])
    if rounding not in AQCI_ROUNDINGS:
        raise ctx.err("/rounding", f"must be one of {', '.join(AQCI_ROUNDINGS)}")
    return AqciTable(
        *header,
        entries=tuple(entries),
        decimals=ctx.integer("/decimals", doc["decimals"], minimum=0),
        rounding=rounding,
    )


_KIND_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "aqi": (
        (
            "iaqi",
            "reports",
            "levels",
            "no_data",
            "pollutant_order",
            "reporting_decimals",
            "primary_pollutant",
            "exceedance_pollutant",
        ),
        (),
    ),
    "limits": (("limits",), ()),
    "aqci": (("indices", "decimals", "rounding"), ()),
}


def parse_standard(text: str, file: str) -> Standard:
    """Parse and validate one standards document; ``file`` is used in error messages."""
    ctx = _Ctx(file)

    def _no_constant(name: str) -> object:
        raise ctx.err("", f"invalid JSON constant {name}")

    try:
        raw = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise StandardFileError(f"{file}: invalid JSON: {exc}") from None
    head = ctx.obj("", raw, required=("format", "kind"), open_keys=True)
    kind = ctx.string("/kind", head["kind"])
    if kind not in _KIND_KEYS:
        raise ctx.err("/kind", f"must be 'aqi', 'limits' or 'aqci', not {kind!r}")
    req, opt = _KIND_KEYS[kind]
    doc = ctx.obj("", raw, required=_HEADER_REQUIRED + req, optional=_HEADER_OPTIONAL + opt)
    header = _parse_header(ctx, doc)
    if kind == "aqi":
        return _parse_aqi(ctx, doc, header)
    if kind == "limits":
        return _parse_limits(ctx, doc, header)
    return _parse_aqci(ctx, doc, header)


# --------------------------------------------------------------------------------------
# registry


@dataclass(frozen=True, slots=True)
class StandardRegistry:
    """All loaded standards by id; choose the one in force by the date of the data."""

    standards: Mapping[str, Standard] = field(default_factory=dict)

    def get(self, standard_id: str) -> Standard:
        try:
            return self.standards[standard_id]
        except KeyError:
            known = ", ".join(sorted(self.standards))
            raise KeyError(f"no standard {standard_id!r} (loaded: {known})") from None

    def of_kind(self, kind: Kind) -> tuple[Standard, ...]:
        """The standards of one kind, oldest first."""
        return tuple(
            sorted(
                (s for s in self.standards.values() if s.kind == kind),
                key=lambda s: s.effective_from,
            )
        )

    def in_force(self, kind: Kind, on: date) -> Standard:
        """The table of ``kind`` for data of day ``on``: among those in force, the one with
        the latest ``effective_from``.  :class:`NoStandardInForce` (a ``LookupError``)
        when none applies.  A ``datetime``
        is reduced to its own calendar date (pass local China time)."""
        if isinstance(on, datetime):
            on = on.date()
        candidates = [s for s in self.of_kind(kind) if s.applies_on(on)]
        if not candidates:
            raise NoStandardInForce(f"no {kind} standard in force on {on.isoformat()}")
        return candidates[-1]

    def aqi_table(self, on: date) -> AqiTable:
        """HJ 633 table for data of day ``on`` (2012 up to 2026-02-28, 2026 from 2026-03-01)."""
        return cast(AqiTable, self.in_force("aqi", on))

    def limits(self, on: date) -> LimitsTable:
        """GB 3095 limits for data of day ``on``."""
        return cast(LimitsTable, self.in_force("limits", on))

    def aqci(self, on: date) -> AqciTable:
        """Composite-index definition for a period identified by day ``on``."""
        return cast(AqciTable, self.in_force("aqci", on))

    def unverified(self, standard_id: str, prefix: str = "") -> tuple[UnverifiedValue, ...]:
        """Unverified values of one table (see :meth:`Standard.unverified`)."""
        return self.get(standard_id).unverified(prefix)


def _read_dir(directory: Path) -> list[Standard]:
    if not directory.is_dir():
        raise StandardFileError(f"{directory}: not a directory")
    out: list[Standard] = []
    ids: dict[str, str] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise StandardFileError(f"{path}: cannot read: {exc}") from None
        std = parse_standard(text, str(path))
        if std.id in ids:
            raise StandardFileError(f"{path}: /id: {std.id!r} is also defined in {ids[std.id]}")
        ids[std.id] = str(path)
        out.append(std)
    return out


def _shipped() -> list[Standard]:
    out: list[Standard] = []
    root = resources.files(__name__)
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json") and entry.is_file():
            out.append(
                parse_standard(
                    entry.read_text(encoding="utf-8"), f"aggregates/standards/{entry.name}"
                )
            )
    return out


def load_standards(extra_dirs: Sequence[Path] = ()) -> StandardRegistry:
    """Load the shipped tables, then every ``*.json`` in ``extra_dirs`` (in order).

    A file whose ``id`` matches an already loaded table replaces it (operator correction);
    a new ``id`` adds a table.  Two files of one directory with the same ``id``, or two
    tables of one kind with the same ``effective_from``, are errors.  All errors are
    :class:`StandardFileError` naming the file and the JSON pointer of the key.
    """
    by_id: dict[str, Standard] = {s.id: s for s in _shipped()}
    for directory in extra_dirs:
        for std in _read_dir(Path(directory)):
            by_id[std.id] = std
    seen: dict[tuple[str, date], Standard] = {}
    for std in by_id.values():
        key = (std.kind, std.effective_from)
        if key in seen:
            other = seen[key]
            raise StandardFileError(
                f"{std.source_file}: /effective_from: {std.kind} tables {std.id!r} and "
                f"{other.id!r} ({other.source_file}) both start on {std.effective_from}"
            )
        seen[key] = std
    return StandardRegistry(MappingProxyType(by_id))


_DEFAULT: list[StandardRegistry] = []


def default_registry() -> StandardRegistry:
    """The shipped tables only, loaded once."""
    if not _DEFAULT:
        _DEFAULT.append(load_standards())
    return _DEFAULT[0]
