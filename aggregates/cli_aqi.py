"""``envgrid aqi``: AQI (HJ 633) of JSON concentrations read from stdin or ``--input``.

Input: one JSON object, a JSON list of objects, or JSON lines (one object per line)::

    {"report": "hourly" | "daily",
     "date": "YYYY-MM-DD",          # optional: picks the standard (default: today, Asia/Shanghai)
     "concentrations": {"SO2_1h": 8, "CO_1h": "0.6", "PM2.5_1h": 36, ...},
     "not_monitored": ["CO"],       # optional: outside the monitoring plan (HJ 633—2026 §5.3.2)
     "id": ...}                     # optional: echoed in the output

The date picks the rules: HJ 633—2012 for data dated up to 2026-02-28, HJ 633—2026 from
2026-03-01.  Output: one JSON line per input object: ``{"aqi", "published", "level",
"level_cn", "category", "color", "color_name", "health_effect", "advice", "primary",
"primary_indicators", "exceedance", "iaqi", "indicator_iaqi", "missing_indicators",
"ignored", "sensitive_groups", "standard", "report", "date"}`` (plus ``"id"`` when given).
An AQI that is not published (HJ 633—2026 §5.3.1, an indicator missing and the rest ≤ 100)
has ``"aqi": null`` and ``"published": false``; ``"exceedance"`` is null under HJ 633—2026
(the 超标污染物 concept was removed).

Bad input (unknown key, a pollutant without its averaging period, non-numeric or negative
value, bad date, a date before the first HJ 633 ...) → exit status 2 and one line on stderr
naming the record and the problem; nothing is written to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import orjson

from aggregates.aqi import compute_aqi
from aggregates.standards import Number, StandardFileError, StandardRegistry, load_standards

__all__ = ["configure", "read_records", "run"]

TIMEZONE = ZoneInfo("Asia/Shanghai")
EXIT_BAD_INPUT = 2
_RECORD_KEYS = frozenset({"report", "date", "concentrations", "id", "description", "not_monitored"})


class InputError(ValueError):
    """Bad command input; the message is printed as one line."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``envgrid aqi`` arguments."""
    parser.add_argument(
        "--input", "-i", metavar="FILE", help="read the JSON from FILE instead of stdin"
    )
    parser.add_argument(
        "--report",
        choices=("hourly", "daily"),
        help="report for objects without a 'report' key",
    )
    parser.add_argument(
        "--date",
        metavar="YYYY-MM-DD",
        help="date for objects without a 'date' key (default: today in Asia/Shanghai)",
    )
    add_standards_dir(parser)
    parser.add_argument(
        "--include-moving-averages",
        action="store_true",
        help="hourly: let the O3 8h and PM 24h moving averages enter the AQI",
    )
    parser.add_argument(
        "--no-round",
        action="store_true",
        help="index the concentrations as given (no GB/T 8170 rounding to reporting precision)",
    )


def add_standards_dir(parser: argparse.ArgumentParser) -> None:
    """The ``--standards-dir`` option of the commands that read the standards tables."""
    parser.add_argument(
        "--standards-dir",
        metavar="DIR",
        action="append",
        default=[],
        help="directory of operator standards files overriding the shipped ones (repeatable)",
    )


def _no_constant(name: str) -> object:
    raise InputError(f"invalid JSON constant {name}")


def read_records(text: str) -> list[object]:
    """Parse one JSON value, a JSON list, or JSON lines; numbers become exact (Decimal)."""
    if not text.strip():
        raise InputError("no input")
    try:
        whole = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except json.JSONDecodeError:
        pass
    else:
        return cast(list[object], whole) if isinstance(whole, list) else [whole]
    records: list[object] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line, parse_float=Decimal, parse_constant=_no_constant))
        except json.JSONDecodeError as exc:
            raise InputError(f"line {n}: invalid JSON: {exc.msg} (column {exc.colno})") from None
    return records


def read_input(path: str | None) -> str:
    """The command input text from ``path`` or stdin."""
    if path is None or path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


def parse_day(value: object, what: str = "date") -> date:
    """A ``YYYY-MM-DD`` string as a date."""
    if not isinstance(value, str):
        raise InputError(f"{what}: expected a string YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{what}: expected YYYY-MM-DD, got {value!r}") from None


def today() -> date:
    """Today in China Standard Time."""
    return datetime.now(TIMEZONE).date()


def check_number(value: object, what: str) -> Number | None:
    """A JSON number, numeric string or null; anything else is an input error."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise InputError(f"{what}: not a number: {json.dumps(value, default=str)}")
    return value


def record_object(record: object, allowed: frozenset[str]) -> dict[str, object]:
    """Check that a record is an object with only ``allowed`` keys."""
    if not isinstance(record, dict):
        raise InputError(f"expected a JSON object, got {type(record).__name__}")
    obj = cast(dict[str, object], record)
    for key in obj:
        if key not in allowed:
            raise InputError(f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")
    return obj


def _one(record: object, args: argparse.Namespace, registry: StandardRegistry) -> dict[str, object]:
    obj = record_object(record, _RECORD_KEYS)
    report = obj.get("report", args.report)
    if report is None:
        raise InputError("missing 'report' (hourly or daily)")
    if report not in ("hourly", "daily"):
        raise InputError(f"report: expected 'hourly' or 'daily', got {report!r}")
    if "concentrations" not in obj:
        raise InputError("missing 'concentrations'")
    conc = obj["concentrations"]
    if not isinstance(conc, dict):
        raise InputError("concentrations: expected a JSON object")
    values: dict[str, Number | None] = {
        str(k): check_number(v, f"concentrations.{k}")
        for k, v in cast(Mapping[str, object], conc).items()
    }
    day = parse_day(obj["date"]) if "date" in obj else args.default_day
    table = registry.aqi_table(day)
    exempt = obj.get("not_monitored", [])
    if not isinstance(exempt, list) or not all(p in table.pollutant_order for p in exempt):
        known = ", ".join(table.pollutant_order)
        raise InputError(f"not_monitored: expected a list of pollutants ({known}), got {exempt!r}")
    try:
        result = compute_aqi(
            report,
            values,
            table,
            include_moving_averages=args.include_moving_averages,
            round_inputs=not args.no_round,
            not_monitored=cast(list[str], exempt),
        )
    except ValueError as exc:
        raise InputError(f"concentrations: {exc}") from None
    out: dict[str, object] = {"id": obj["id"]} if "id" in obj else {}
    out.update(result.to_json())
    out["date"] = day.isoformat()
    return out


def standards_and_day(args: argparse.Namespace, label: str = "") -> tuple[StandardRegistry, date]:
    """The tables of ``--standards-dir`` and the day of ``--date`` (today without it);
    a bad file or date is an :class:`InputError` (the file's message after *label*)."""
    try:
        registry = load_standards([Path(d) for d in args.standards_dir])
    except StandardFileError as exc:
        raise InputError(f"{label}{exc}") from None
    return registry, parse_day(args.date, "--date") if args.date else today()


Handler = Callable[[object, argparse.Namespace, StandardRegistry], dict[str, object]]


def process(args: argparse.Namespace, prog: str, handler: Handler) -> int:
    """Shared driver of ``envgrid aqi``/``aqci``: load standards, read, compute, print."""
    try:
        registry, args.default_day = standards_and_day(args, "standards: ")
        records = read_records(read_input(args.input))
    except InputError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    lines: list[bytes] = []
    for n, record in enumerate(records, start=1):
        try:
            lines.append(orjson.dumps(handler(record, args, registry)))
        except (ValueError, LookupError) as exc:
            where = f"record {n}: " if len(records) > 1 else ""
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            print(f"{prog}: {where}{message}", file=sys.stderr)
            return EXIT_BAD_INPUT
    sys.stdout.buffer.write(b"".join(line + b"\n" for line in lines))
    sys.stdout.flush()
    return 0


def run(args: argparse.Namespace) -> int:
    """Run ``envgrid aqi``; returns the exit status (0, or 2 for bad input)."""
    return process(args, "envgrid aqi", _one)
