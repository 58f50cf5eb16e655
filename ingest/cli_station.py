"""``envgrid station``: the registry and downlink commands from the command line.

envgrid station list
envgrid station add MN --password PW --name NAME --st 22 --lat 30.2 --lon 120.1 [--area-class 1]
                   [--edition 2025 [--sm4-key KEY] [--strict-edition]]
envgrid station set MN [--area-class 1|2] [--name NAME] [--region R] [--enable | --disable]
                   [--password PW] [--edition E] [--sm4-key KEY]
                   [--strict-edition | --lenient-edition]
envgrid station rotate-key MN        (HJ 212-2025: a new SM4 key by CN 1014)
envgrid station pending | approve MN | reject MN
envgrid station loggers [--all]      (HJ 212-2025 loggers without an MN, CN 1001)
envgrid station assign LOGGER_ID --mn MN [--password PW] [--name N] [--st ST] [--sm4-key KEY]
envgrid station reject-logger LOGGER_ID
envgrid station command MN set-time [--wait 30]
envgrid station command MN set-rtd-interval RtdInterval=60
envgrid station command MN history-hour BeginTime=20240301000000 EndTime=20240301120000
envgrid station command MN raw --cn 3020 PolId=w01018 InfoId=i12001
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

from ingest.settings import IngestConfig
from protocol.sm4 import parse_key
from store.commands import (
    COMMAND_VERBS,
    CommandError,
    queue_command,
    queue_key_exchange,
    wait_command,
)
from store.config import SettingsLoader
from store.db import connect
from store.embedded import database_dsn
from store.logcontext import log_change
from store.loggers import assign_logger, list_loggers, reject_logger
from store.progress import Progress, add_quiet_option
from store.secretbox import SM4_KEY, STATION_PASSWORD, SecretBox, box_for
from store.stations import (
    AREA_CLASSES,
    DEFAULT_AREA_CLASS,
    EDITIONS,
    NewStation,
    StationError,
    add_station,
    add_stations,
    approve_pending,
    list_pending,
    list_stations,
    reject_pending,
    set_sm4_key,
    update_station,
)
from store.validation import ConfigError

#: stations registered per statement by ``import``
IMPORT_CHUNK = 10_000


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dsn", help="PostgreSQL DSN (default: configuration / embedded)")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("list", help="registered stations with their connection state")
    add = sub.add_parser("add", help="register a station")
    add.add_argument("mn")
    add.add_argument(
        "--password", required=True, help="the station's access password (PW), not empty"
    )
    add.add_argument("--name", default="")
    add.add_argument("--st", help="system type, e.g. 22 ambient air, 31 flue gas, 32 wastewater")
    add.add_argument("--lat", type=float)
    add.add_argument("--lon", type=float)
    add.add_argument("--region", default="")
    _area_class_option(add, default=DEFAULT_AREA_CLASS)
    _edition_options(add)
    change = sub.add_parser("set", help="change a registered station")
    change.add_argument("mn")
    change.add_argument("--password", help="a new access password (PW) for the registry")
    change.add_argument("--name")
    change.add_argument("--region")
    _area_class_option(change, default=None)
    _edition_options(change)
    strict = change.add_mutually_exclusive_group()
    strict.add_argument(
        "--strict-edition",
        dest="strict_edition",
        action="store_const",
        const=True,
        help="refuse frames of another edition than the registered one",
    )
    strict.add_argument(
        "--lenient-edition",
        dest="strict_edition",
        action="store_const",
        const=False,
        help="accept them and count them (envgrid_frames_flagged{kind=edition_mismatch})",
    )
    state = change.add_mutually_exclusive_group()
    state.add_argument("--enable", dest="enabled", action="store_const", const=True)
    state.add_argument("--disable", dest="enabled", action="store_const", const=False)
    imp = sub.add_parser(
        "import",
        help="register many stations from JSON (a list, or JSON lines): mn, pw, name, st, lat,"
        " lon, region_name — e.g. the output of 'envgrid simulate --list-stations'",
    )
    imp.add_argument("file", help="JSON file, or - for standard input")
    add_quiet_option(imp)
    sub.add_parser("pending", help="unknown MNs waiting for approval")
    approve = sub.add_parser("approve", help="register a pending MN")
    approve.add_argument("mn")
    approve.add_argument("--password", help="password to register (default: the one it sent)")
    approve.add_argument("--name")
    loggers = sub.add_parser(
        "loggers", help="HJ 212-2025 loggers without an MN waiting for one (CN 1001)"
    )
    loggers.add_argument("--all", action="store_true", help="also assigned and rejected ones")
    assign = sub.add_parser(
        "assign",
        help="HJ 212-2025: register a logger that announced itself (CN 1001) under an MN and"
        " send it that MN (CN 1002)",
    )
    assign.add_argument("logger_id", help="the logger id it sent (i23005-Info)")
    assign.add_argument("--mn", required=True, help="the MN to assign: 24 characters 0-9 A-F")
    assign.add_argument("--password", help="password to register (default: the one it sent)")
    assign.add_argument("--name")
    assign.add_argument("--st", help="system code (default: the one it sent)")
    assign.add_argument("--sm4-key", help="SM4 key: 16 characters or 32 hex digits")
    assign.add_argument(
        "--timeout", type=float, default=7 * 86400.0, help="the 1002 expires after (s)"
    )
    reject_logger_ = sub.add_parser("reject-logger", help="reject a logger waiting for an MN")
    reject_logger_.add_argument("logger_id")
    reject = sub.add_parser("reject", help="reject a pending MN (its frames stay refused)")
    reject.add_argument("mn")
    rotate = sub.add_parser(
        "rotate-key",
        help="HJ 212-2025: send the station a new SM4 key (CN 1014); it is used once the station"
        " confirms, the old one stays valid for 7 days",
    )
    rotate.add_argument("mn")
    cmd = sub.add_parser(
        "command",
        help="send a downlink command",
        description="verbs: "
        + "; ".join(f"{k} ({v[0]}): {v[2]}" for k, v in COMMAND_VERBS.items())
        + "; raw --cn N: any CN",
    )
    cmd.add_argument("mn")
    cmd.add_argument("verb", choices=[*COMMAND_VERBS, "raw"])
    cmd.add_argument("params", nargs="*", metavar="KEY=VALUE", help="CP parameters")
    cmd.add_argument("--cn", type=int, help="command code for 'raw'")
    cmd.add_argument("--timeout", type=float, default=120.0, help="expire after (s)")
    cmd.add_argument(
        "--wait",
        type=float,
        default=0.0,
        help="wait up to this many seconds for the outcome and print it",
    )


def _edition_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--edition",
        choices=EDITIONS,
        help="the HJ 212 edition the station speaks (2005, 2017, 2025; default: any, as detected)",
    )
    parser.add_argument(
        "--sm4-key",
        metavar="KEY",
        help="HJ 212-2025 SM4 key: 16 characters as the standard writes it, or 32 hex digits",
    )
    if parser.prog.endswith("add"):
        parser.add_argument(
            "--strict-edition",
            action="store_true",
            help="refuse frames of another edition than --edition (default: accept, count)",
        )


def _area_class_option(parser: argparse.ArgumentParser, *, default: int | None) -> None:
    parser.add_argument(
        "--area-class",
        type=int,
        choices=sorted(AREA_CLASSES),
        default=default,
        help="GB 3095 功能区类别: 1 一类区 (grade I limits), 2 二类区 (grade II, the default)",
    )


def _params(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CommandError(f"parameters are KEY=VALUE (got {item!r})")
        out[key] = value
    return out


async def _run(args: argparse.Namespace, settings: IngestConfig) -> int:
    async with database_dsn(settings.core, settings.database) as dsn:
        conn = await connect(dsn)
        try:
            return await ACTIONS[args.action](conn, args, settings)
        finally:
            await conn.close()


def _print(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, default=str))


def _seal_key(key: str | None, s: IngestConfig) -> str | None:
    """An SM4 key as stored: checked (16 characters or 32 hex digits), then sealed."""
    if key is None:
        return None
    try:
        parse_key(key)
    except ValueError as exc:
        raise StationError(f"--sm4-key: {exc}") from None
    return box_for(s.core.secret_key_path).seal(key, SM4_KEY)


def _seal(password: str | None, s: IngestConfig) -> str | None:
    """A password as stored (sealed with the key file, ``store.secretbox``); an empty one is
    refused: a station without a password would be a station anyone can be."""
    if password is None:
        return None
    if not password.strip():
        raise StationError("a station needs a non-empty password (--password)")
    return box_for(s.core.secret_key_path).seal(password, STATION_PASSWORD)


async def _list(conn: asyncpg.Connection, args: argparse.Namespace, s: IngestConfig) -> int:
    for row in await list_stations(conn):
        _print(row)
    return 0


async def _add(conn: asyncpg.Connection, args: argparse.Namespace, s: IngestConfig) -> int:
    station_id = await add_station(
        conn,
        args.mn,
        password=_seal(args.password, s),
        name=args.name,
        st=args.st,
        lat=args.lat,
        lon=args.lon,
        region=args.region,
        area_class=args.area_class,
        registered_edition=args.edition,
        strict_edition=args.strict_edition,
        sm4_key=_seal_key(args.sm4_key, s),
    )
    log_change("station", "added", mn=args.mn, station_id=station_id)
    print(f"station {args.mn} registered (id {station_id})")
    return 0


async def _set(conn: asyncpg.Connection, args: argparse.Namespace, s: IngestConfig) -> int:
    values = {
        key: value
        for key, value in (
            ("password", _seal(args.password, s)),
            ("name", args.name),
            ("region", args.region),
            ("area_class", args.area_class),
            ("enabled", args.enabled),
            ("registered_edition", args.edition),
            ("strict_edition", args.strict_edition),
        )
        if value is not None
    }
    key = _seal_key(args.sm4_key, s)
    if not values and key is None:
        raise StationError("nothing to change (see envgrid station set --help)")
    async with conn.transaction():
        station_id = await update_station(conn, args.mn, **values) if values else None
        if key is not None:
            station_id = await set_sm4_key(conn, args.mn, key)
            values["sm4_key"] = "(new key; the old one stays valid for the grace period)"
    log_change("station", "changed", mn=args.mn, changed=sorted(values))
    print(f"station {args.mn} (id {station_id}) changed: {', '.join(sorted(values))}")
    return 0


async def _rotate_key(conn: asyncpg.Connection, args: argparse.Namespace, s: IngestConfig) -> int:
    command_id = await queue_key_exchange(
        conn,
        mn=args.mn,
        box=box_for(s.core.secret_key_path),
        created_by="cli",
        tz=s.core.timezone,
    )
    log_change("station", "key exchange queued", mn=args.mn, command_id=command_id)
    print(
        f"key exchange queued for {args.mn} (command {command_id}); the new key is used once"
        " the station confirms it (envgrid station command … or the station page shows it)"
    )
    return 0


async def _import(conn: asyncpg.Connection, args: argparse.Namespace, s: IngestConfig) -> int:
    source = sys.stdin.read if args.file == "-" else Path(args.file).read_text
    text = await asyncio.to_thread(source)
    text = text.strip()
    try:
        items = (
            json.loads(text)
            if text.startswith("[")
            else [json.loads(line) for line in text.splitlines() if line.strip()]
        )
    except json.JSONDecodeError as exc:
        raise StationError(f"{args.file}: not JSON ({exc})") from None
    if not isinstance(items, list):
        raise StationError(f"{args.file}: expected a JSON list or JSON lines of stations")
    with Progress(quiet=args.quiet) as progress:
        stations = _new_stations(items, args.file, box_for(s.core.secret_key_path), progress)
        task = progress.task(f"registering {len(stations)} stations", total=len(stations))
        for start in range(0, len(stations), IMPORT_CHUNK):
            task.advance(await add_stations(conn, stations[start : start + IMPORT_CHUNK]))
    log_change("station", "imported", count=len(stations), file=args.file)
    print(f"{len(stations)} stations registered (existing MNs updated)")
    return 0


def _new_stations(
    items: list[Any], file: str, box: SecretBox, progress: Progress
) -> list[NewStation]:
    """The stations of an import file, checked and their secrets sealed (StationError)."""
    stations = []
    task = progress.task(f"checking {Path(file).name}", total=len(items))
    for n, item in enumerate(items, 1):
        task.advance()
        if not isinstance(item, dict) or not item.get("mn"):
            raise StationError(f"{file}: item {n} has no 'mn'")
        password = str(item.get("pw", item.get("password", "")))
        if not password.strip():
            raise StationError(f"{file}: item {n} ({item['mn']}) has no 'pw'")
        edition, key = item.get("edition"), item.get("sm4_key")
        if edition is not None and str(edition) not in EDITIONS:
            raise StationError(f"{file}: item {n}: edition must be one of {EDITIONS}")
        if key is not None:
            try:
                parse_key(str(key))
            except ValueError as exc:
                raise StationError(f"{file}: item {n}: sm4_key: {exc}") from None
        stations.append(
            NewStation(
                str(item["mn"]),
                box.seal(password, STATION_PASSWORD),
                str(item.get("name", "")),
                item.get("st"),
                item.get("lat"),
                item.get("lon"),
                str(item.get("region_name", item.get("region", ""))),
                None if edition is None else str(edition),
                None if key is None else box.seal(str(key), SM4_KEY),
            )
        )
    return stations


async def _pending(conn: asyncpg.Connection, args: argparse.Namespace, s: IngestConfig) -> int:
    for row in await list_pending(conn):
        row["has_password"] = bool(row.pop("password", None))
        _print(row)
    return 0


async def _approve(conn: asyncpg.Connection, args: argparse.Namespace, s: IngestConfig) -> int:
    station_id = await approve_pending(
        conn, args.mn, password=_seal(args.password, s), name=args.name
    )
    log_change("station", "approved", mn=args.mn, station_id=station_id)
    print(f"station {args.mn} approved (id {station_id}); its data is stored from now on")
    return 0


async def _reject(conn: asyncpg.Connection, args: argparse.Namespace, s: IngestConfig) -> int:
    await reject_pending(conn, args.mn, by="cli")
    log_change("station", "rejected", mn=args.mn)
    print(f"{args.mn} rejected")
    return 0


async def _loggers(conn: asyncpg.Connection, args: argparse.Namespace, s: IngestConfig) -> int:
    for row in await list_loggers(conn, include_decided=args.all):
        _print(row)
    return 0


async def _assign(conn: asyncpg.Connection, args: argparse.Namespace, s: IngestConfig) -> int:
    done = await assign_logger(
        conn,
        args.logger_id,
        mn=args.mn,
        password=_seal(args.password, s),
        name=args.name,
        st=args.st,
        sm4_key=_seal_key(args.sm4_key, s),
        created_by="cli",
        timeout_s=args.timeout,
        tz=s.core.timezone,
    )
    log_change("station", "assigned", mn=done.mn, logger_id=done.logger_id)
    print(
        f"logger {done.logger_id} registered as station {done.mn} (id {done.station_id});"
        f" CN 1002 queued (command {done.command_id})"
    )
    return 0


async def _no_logger(conn: asyncpg.Connection, args: argparse.Namespace, s: IngestConfig) -> int:
    await reject_logger(conn, args.logger_id, by="cli")
    log_change("logger", "rejected", logger_id=args.logger_id)
    print(f"logger {args.logger_id} rejected")
    return 0


async def _command(conn: asyncpg.Connection, args: argparse.Namespace, s: IngestConfig) -> int:
    if args.verb == "raw":
        if args.cn is None:
            raise CommandError("'raw' needs --cn")
        cn = args.cn
    else:
        cn = COMMAND_VERBS[args.verb][0]
    command_id = await queue_command(
        conn,
        mn=args.mn,
        cn=cn,
        params=_params(args.params),
        created_by="cli",
        timeout_s=args.timeout,
        tz=s.core.timezone,
        box=box_for(s.core.secret_key_path),
    )
    print(f"command {command_id} queued (CN {cn}) for {args.mn}", file=sys.stderr)
    if args.wait > 0:
        record = await wait_command(conn, command_id, args.wait)
        _print(record.to_json())
        return 0 if record.status == "succeeded" else 1
    _print({"id": command_id, "cn": cn, "mn": args.mn, "status": "queued"})
    return 0


ACTIONS: dict[
    str, Callable[[asyncpg.Connection, argparse.Namespace, IngestConfig], Awaitable[int]]
] = {
    "list": _list,
    "add": _add,
    "set": _set,
    "import": _import,
    "pending": _pending,
    "approve": _approve,
    "reject": _reject,
    "loggers": _loggers,
    "assign": _assign,
    "reject-logger": _no_logger,
    "command": _command,
    "rotate-key": _rotate_key,
}


def run(args: argparse.Namespace, load: SettingsLoader[IngestConfig]) -> int:
    try:
        settings = load({"database.dsn": args.dsn} if args.dsn else {})
        return asyncio.run(_run(args, settings))
    except (ConfigError, StationError, CommandError) as exc:
        print(f"envgrid station: {exc}", file=sys.stderr)
        return 2
