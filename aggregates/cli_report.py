"""``envgrid report``: write a station/region/grid report as XLSX, CSV, PDF, DOCX or a chart.

Examples::

    envgrid report --station 88888880000001 --period day --date 2024-03-05 --format pdf
    envgrid report --region 东区 --period month --date 2024-03-01 --format xlsx
    envgrid report --grid G0101 --period xun --date 2024-03-15 --format docx
    envgrid report --region 东区 --period custom --start 2024-03-01 --end 2024-03-20 \\
        --format png --chart pie -o pie.png

``--date`` is any day inside the period (default: yesterday, local time); ``custom`` takes
``--start``/``--end`` (inclusive).  The file goes to ``--output`` or, by default, to
``aggregates.reports_dir`` (``core.data_dir/reports``).  ``--refresh`` recomputes the official
daily values of the period first (otherwise the scheduled refresh job's values are used).
Progress is drawn on stderr when it is a terminal (not with ``--quiet``); the path of the file
written is printed on stdout.  Exit status: 0 written, 1 database error, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

from aggregates.exports import CHART_KINDS, FORMATS, ExportError, export
from aggregates.jobs import refresh_days
from aggregates.periods import PERIOD_KINDS, PeriodKind, period_of
from aggregates.report_model import ReportSpec
from aggregates.reports import build_report
from aggregates.selection import QueryError, Selection, select_stations
from aggregates.settings import AggregatesConfig
from store.config import SettingsLoader, mask_dsn
from store.db import connect
from store.embedded import EmbeddedError, database_dsn
from store.progress import Progress, ProgressTask, add_quiet_option
from store.validation import ConfigError

__all__ = ["configure", "run"]

EXIT_DB = 1
EXIT_USAGE = 2


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``envgrid report`` arguments."""
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--station", metavar="MN", help="one station (its MN)")
    who.add_argument("--region", metavar="NAME", help="a region (stations.region)")
    who.add_argument("--grid", metavar="CODE", help="an area of the grid hierarchy (code)")
    parser.add_argument(
        "--period", choices=PERIOD_KINDS, default="day", help="report period (default: day)"
    )
    parser.add_argument("--date", metavar="YYYY-MM-DD", help="a day inside the period")
    parser.add_argument("--start", metavar="YYYY-MM-DD", help="custom period: first day")
    parser.add_argument("--end", metavar="YYYY-MM-DD", help="custom period: last day")
    parser.add_argument("--format", "-f", choices=FORMATS, default="xlsx", help="file format")
    parser.add_argument(
        "--chart", choices=CHART_KINDS, default="line", help="png/jpg: which chart (line)"
    )
    parser.add_argument(
        "--factors", metavar="CODES", help="comma-separated factor codes (default: the six AQI)"
    )
    parser.add_argument("--output", "-o", metavar="FILE", help="where to write the file")
    parser.add_argument("--dsn", metavar="DSN", help="database (default: database.dsn/embedded)")
    parser.add_argument(
        "--refresh", action="store_true", help="recompute the period's official values first"
    )
    parser.add_argument(
        "--audit-log", action="store_true", help="append the data-audit log of the period"
    )
    add_quiet_option(parser)


def _day(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{what} must be YYYY-MM-DD (got {text!r})") from None


def _spec(args: argparse.Namespace, settings: AggregatesConfig) -> ReportSpec:
    tz = ZoneInfo(settings.core.timezone)
    kind: PeriodKind = args.period
    if kind == "custom":
        start, end = _day(args.start, "--start"), _day(args.end, "--end")
        if start is None or end is None:
            raise ValueError("--period custom needs --start and --end")
        per = period_of("custom", start, end)
    else:
        day = _day(args.date, "--date") or datetime.now(UTC).astimezone(tz).date() - timedelta(
            days=1
        )
        per = period_of(kind, day)
    if args.station:
        scope, key = "station", args.station
    elif args.region:
        scope, key = "region", args.region
    else:
        scope, key = "grid", args.grid
    factors = tuple(c.strip() for c in args.factors.split(",") if c.strip()) if args.factors else ()
    if factors:
        return ReportSpec(scope, key, per, factors, audit_log=args.audit_log)  # type: ignore[arg-type]
    return ReportSpec(scope, key, per, audit_log=args.audit_log)  # type: ignore[arg-type]


def _output(args: argparse.Namespace, settings: AggregatesConfig, spec: ReportSpec) -> Path:
    if args.output:
        return Path(args.output)
    base = settings.aggregates.reports_dir or settings.core.data_dir / "reports"
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in spec.key)
    ext = args.format
    suffix = f"-{args.chart}" if ext in ("png", "jpg") else ""
    return base / f"{spec.scope}-{safe}-{spec.period.kind}-{spec.period.start}{suffix}.{ext}"


async def _main(args: argparse.Namespace, settings: AggregatesConfig, spec: ReportSpec) -> Path:
    with Progress(quiet=args.quiet) as progress:
        task = progress.task(f"report {spec.scope} {spec.key}", total=1.0)
        return await _write(args, settings, spec, task)


async def _write(
    args: argparse.Namespace, settings: AggregatesConfig, spec: ReportSpec, task: ProgressTask
) -> Path:
    def bar(fraction: float, message: str) -> None:
        task.update(completed=fraction, description=message)

    async with database_dsn(settings.core, settings.database) as dsn:
        conn = await connect(dsn, application_name=f"{settings.database.application_name} report")
        try:
            if args.refresh:
                sel = (
                    Selection(mns=(spec.key,))
                    if spec.scope == "station"
                    else Selection(region=spec.key)
                    if spec.scope == "region"
                    else Selection(grid=spec.key)
                )
                stations = await select_stations(conn, sel)
                pairs = [(s.id, d) for s in stations for d in spec.period.iter_days()]
                async with conn.transaction():
                    await refresh_days(
                        conn,
                        settings,
                        pairs,
                        progress=lambda f, m: bar(0.5 * f, f"refresh: {m}"),
                    )
                offset = 0.5
            else:
                offset = 0.0
            report = await build_report(
                conn,
                settings,
                spec,
                progress=lambda f, m: bar(offset + (0.9 - offset) * f, m),
            )
        finally:
            await conn.close()
    bar(0.95, "writing")
    path = export(
        report,
        args.format,
        _output(args, settings, spec),
        chart=args.chart,
        font=settings.aggregates.cjk_font,
    )
    bar(1.0, "done")
    return path


def run(args: argparse.Namespace, load: SettingsLoader[AggregatesConfig]) -> int:
    overrides = {"database.dsn": args.dsn} if args.dsn else {}
    try:
        settings = load(overrides)
        spec = _spec(args, settings)
    except (ConfigError, ValueError) as exc:
        print(f"envgrid report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        path = asyncio.run(_main(args, settings, spec))
    except (QueryError, ExportError) as exc:
        print(f"envgrid report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (EmbeddedError, OSError, TimeoutError, asyncpg.PostgresError) as exc:
        target = mask_dsn(settings.database.dsn) if settings.database.dsn else "embedded cluster"
        print(
            f"envgrid report: database error ({target}): {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return EXIT_DB
    print(path)
    return 0
