"""``envgrid aqci``: composite index (综合指数, AQI.md §2.4) of JSON read from stdin or ``--input``.

Input: one JSON object, a JSON list of objects, or JSON lines.  Each object gives either
period statistics or daily series (the shapes of ``aqi_vectors_2012.json`` are accepted
as they are)::

    {"stats": {"SO2": 13, "NO2": 39, "PM10": 72, "PM2.5": 46, "CO_P95": 2.0, "O3_8h_P90": 202}}
    {"statistics_inputs": {"SO2": 60, ..., "CO": 4.0, "O3": 160}}
    {"daily_inputs": {"SO2": [..], "NO2": [..], "PM10": [..], "PM2.5": [..], "CO": [..],
                      "O3_8h_max": [..]},
     "n_days": 28, "year": 2022, "month": 2}      # n_days/year/month optional

Optional keys: ``"date"`` (picks the standard; default: the last day of year/month when
given, else ``--date`` or today in Asia/Shanghai), ``"rounding"`` (``per_index``,
``rounded_statistics``, ``exact``), ``"daily_mda8"`` (O3 MDA8 series), ``"id"`` (echoed).

Output: one JSON line per object: ``{"aqci", "aqci_unrounded", "indices", "max_index",
"standard", "rounding", "statistics", "statistics_rounded", "weights", "missing", "date",
"unverified"}`` plus, for daily input, ``"period"``, ``"counts"`` and ``"valid"`` (GB 3095
Table 4).  ``"unverified"`` is null, or the "未核实" mark of a table with unverified values
(``mark``, ``code``, ``reason``, ``count``, ``message``; today the HJ 663—2026 composite
index) — :func:`aggregates.standards_used.unverified_mark`.
Bad input → exit status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import calendar
from collections.abc import Mapping, Sequence
from datetime import date
from typing import cast

from aggregates.aqci import composite_index, period_stats
from aggregates.cli_aqi import (
    InputError,
    add_standards_dir,
    check_number,
    parse_day,
    process,
    record_object,
)
from aggregates.standards import AQCI_ROUNDINGS, Number, StandardRegistry
from aggregates.standards_used import unverified_mark

__all__ = ["configure", "run"]

_RECORD_KEYS = frozenset(
    {
        "stats",
        "statistics_inputs",
        "daily",
        "daily_inputs",
        "daily_mda8",
        "n_days",
        "year",
        "month",
        "date",
        "rounding",
        "id",
        "description",
    }
)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``envgrid aqci`` arguments."""
    parser.add_argument(
        "--input", "-i", metavar="FILE", help="read the JSON from FILE instead of stdin"
    )
    parser.add_argument(
        "--date",
        metavar="YYYY-MM-DD",
        help="date choosing the standard for objects without date/year "
        "(default: today in Asia/Shanghai)",
    )
    parser.add_argument(
        "--rounding",
        choices=AQCI_ROUNDINGS,
        help="rounding variant (default: the table's, per_index)",
    )
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="sum over the pollutants present instead of failing on a missing one",
    )
    add_standards_dir(parser)


def _int(obj: Mapping[str, object], key: str, lo: int, hi: int) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InputError(f"{key}: expected an integer {lo}..{hi}, got {value!r}")
    return value


def _series(value: object, what: str) -> list[Number | None]:
    if not isinstance(value, list):
        raise InputError(f"{what}: expected a list of daily values")
    return [check_number(v, f"{what}[{i}]") for i, v in enumerate(cast(list[object], value))]


def _one(record: object, args: argparse.Namespace, registry: StandardRegistry) -> dict[str, object]:
    obj = record_object(record, _RECORD_KEYS)
    stats_keys = [k for k in ("stats", "statistics_inputs") if k in obj]
    daily_keys = [k for k in ("daily", "daily_inputs") if k in obj]
    if len(stats_keys) + len(daily_keys) != 1:
        raise InputError(
            "give exactly one of 'stats'/'statistics_inputs' or 'daily'/'daily_inputs'"
        )
    year = _int(obj, "year", 1900, 9999)
    month = _int(obj, "month", 1, 12)
    if month is not None and year is None:
        raise InputError("month: needs year")
    if "date" in obj:
        day = parse_day(obj["date"])
    elif year is not None:
        last_month = month or 12
        day = date(year, last_month, calendar.monthrange(year, last_month)[1])
    else:
        day = args.default_day
    table = registry.aqci(day)

    rounding = obj.get("rounding", args.rounding)
    if rounding is not None and rounding not in AQCI_ROUNDINGS:
        raise InputError(f"rounding: expected one of {', '.join(AQCI_ROUNDINGS)}, got {rounding!r}")

    extra: dict[str, object] = {}
    section = (stats_keys or daily_keys)[0]
    try:
        if stats_keys:
            for key in ("daily_mda8", "n_days", "year", "month"):
                if key in obj:
                    raise InputError(f"{key}: only allowed with daily series")
            raw = obj[stats_keys[0]]
            if not isinstance(raw, dict):
                raise InputError(f"{stats_keys[0]}: expected a JSON object")
            stats: Mapping[str, Number | None] = {
                str(k): check_number(v, f"{stats_keys[0]}.{k}")
                for k, v in cast(Mapping[str, object], raw).items()
            }
            result = composite_index(
                stats,
                table,
                rounding=rounding,
                allow_missing=args.allow_missing,
            )
        else:
            name = daily_keys[0]
            raw = obj[name]
            if not isinstance(raw, dict):
                raise InputError(f"{name}: expected a JSON object of daily series")
            series: dict[str, Sequence[Number | None]] = {
                str(k): _series(v, f"{name}.{k}")
                for k, v in cast(Mapping[str, object], raw).items()
            }
            mda8 = _series(obj["daily_mda8"], "daily_mda8") if "daily_mda8" in obj else None
            n_days = _int(obj, "n_days", 1, 366)
            if n_days is not None:
                for key, values in [*series.items(), ("daily_mda8", mda8 or [])]:
                    if (key != "daily_mda8" or mda8 is not None) and len(values) != n_days:
                        raise InputError(f"{key}: {len(values)} values, n_days is {n_days}")
            ps = period_stats(series, mda8, table=table, year=year, month=month)
            result = composite_index(
                ps,
                table,
                rounding=rounding,
                allow_missing=args.allow_missing,
            )
            extra = {"period": ps.period, "counts": dict(ps.counts), "valid": dict(ps.valid)}
    except InputError:
        raise
    except ValueError as exc:
        raise InputError(f"{section}: {exc}") from None
    out: dict[str, object] = {"id": obj["id"]} if "id" in obj else {}
    out.update(result.to_json())
    out["date"] = day.isoformat()
    mark = unverified_mark(table)
    out["unverified"] = None if mark is None else {k: v for k, v in mark.items() if k != "items"}
    out.update(extra)
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``envgrid aqci``; returns the exit status (0, or 2 for bad input)."""
    return process(args, "envgrid aqci", _one)
