"""Issue 16, findings 1 and 9: station passwords stay on the server.

Over a real TCP connection to a real worker and PostgreSQL: the stored frames, pending rows,
command parameters and replies hold no password; ``stations.password`` is sealed with the
key file; a set-password command (1072) carries the new password to the station and, once
the station confirms it, the registry takes it; a station registered without a password is
refused; a pending MN keeps the first password it presented.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from envgrid.settings import Settings
from ingest import cli_station
from protocol import encode_execution_result, encode_request_answer
from store.commands import queue_command, wait_command
from store.db import connect
from store.secretbox import STATION_PASSWORD, SecretBox, SecretBoxError, box_for
from store.stations import NewStation, StationError

from .conftest import StationClient, make_settings, station_parser
from .test_server import rtd

SECRET = "S3cr3t-PW"
AIR = NewStation("AQ0000000000000000000077", SECRET, "air", "22", 30.27, 120.15, "西湖区")


def _box(worker: Any) -> SecretBox:
    return box_for(worker.settings.core.secret_key_path)


async def _register_sealed(db_dsn: str, settings: Settings, *stations: NewStation) -> None:
    conn = await connect(db_dsn)
    try:
        for s in stations:
            args = station_parser().parse_args(
                ["add", s.mn, "--password", s.password, "--st", s.st or "22"]
            )
            await cli_station.ACTIONS["add"](conn, args, settings)
    finally:
        await conn.close()


async def test_nothing_stored_holds_the_password(
    start_worker: Callable[..., Any],
    register: Callable[..., Any],
    db_conn: asyncpg.Connection,
    pg_reachable_tmp: Path,
    db_dsn: str,
) -> None:
    await register()  # factors
    settings = make_settings(pg_reachable_tmp / "var", db_dsn)
    await _register_sealed(db_dsn, settings, AIR)
    stored = await db_conn.fetchval("SELECT password FROM stations WHERE mn = $1", AIR.mn)
    assert stored.startswith("enc:v1:") and SECRET not in stored
    key = settings.core.secret_key_path
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    worker = await start_worker()
    client = await StationClient.open(worker.bound_port)
    await client.send(rtd(AIR.mn, 1, pw=SECRET))
    [ack] = await client.expect(1)
    assert ack.cn == 9014  # the sealed password opens: the station is accepted
    # a set-password command: the new password travels to the station, sealed until then
    new = "N3w-PW-42"
    command_id = await queue_command(
        db_conn, mn=AIR.mn, cn=1072, params={"NewPW": new}, box=_box(worker)
    )
    params = await db_conn.fetchval("SELECT params FROM station_commands WHERE id = $1", command_id)
    assert new not in str(params)
    [_, request] = await client.expect(2)
    assert request.cn == 1072 and request.fields["NewPW"] == new and request.pw == SECRET
    await client.send(
        encode_request_answer(qn=request.qn, mn=AIR.mn, pw=SECRET, edition="2017"),
        encode_execution_result(qn=request.qn, mn=AIR.mn, pw=SECRET, edition="2017"),
    )
    record = await wait_command(db_conn, command_id, 10)
    assert record.status == "succeeded"
    shown = str(record.to_json())
    assert new not in shown and SECRET not in shown and "******" in shown
    # the registry took the confirmed password, sealed; frames with it are accepted
    stored = await db_conn.fetchval("SELECT password FROM stations WHERE mn = $1", AIR.mn)
    assert stored.startswith("enc:v1:") and _box(worker).open(stored, STATION_PASSWORD) == new
    for _ in range(50):  # the worker reloads on the registry notification
        await client.send(rtd(AIR.mn, 2, pw=new))
        await asyncio.sleep(0.1)
        replies = await client.quiet(0.2)
        if replies[-1].cn == 9014 and replies[-1].qn == "20261121100000002":
            break
    else:
        pytest.fail("the confirmed password was not taken by the worker")
    # nothing in the database holds either password in plain text
    await asyncio.sleep(0.3)
    for table, column in (
        ("packet_ledger", "raw"),
        ("command_replies", "raw"),
        ("command_replies", "fields::text"),
        ("station_commands", "params::text"),
        ("stations", "password"),
    ):
        leaks = await db_conn.fetchval(
            f"SELECT count(*) FROM {table} WHERE {column} LIKE '%' || $1 || '%'"
            f" OR {column} LIKE '%' || $2 || '%'",
            SECRET,
            new,
        )
        assert leaks == 0, f"{table}.{column} holds a password"
    assert await db_conn.fetchval("SELECT count(*) FROM packet_ledger WHERE raw LIKE '%PW=******;%'")
    await client.close()


async def test_pending_keeps_the_first_password_sealed(
    start_worker: Callable[..., Any], register: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    await register()
    worker = await start_worker()
    mn = "PEND00000000000000000001"
    first = await StationClient.open(worker.bound_port)
    await first.send(rtd(mn, 1, pw="first-pw"))
    await first.quiet(0.5)
    second = await StationClient.open(worker.bound_port)
    await second.send(rtd(mn, 2, pw="other-pw"))
    await second.quiet(0.5)
    row = None
    for _ in range(50):
        row = await db_conn.fetchrow(
            "SELECT password, last_raw, frames FROM pending_stations WHERE mn = $1", mn
        )
        if row is not None and row["frames"] >= 2:
            break
        await asyncio.sleep(0.2)
    assert row is not None
    assert row["password"].startswith("enc:v1:")
    assert _box(worker).open(row["password"], STATION_PASSWORD) == "first-pw"
    assert "first-pw" not in row["last_raw"] and "other-pw" not in row["last_raw"]
    conflicts = await db_conn.fetchval("SELECT pw_conflicts FROM pending_stations WHERE mn = $1", mn)
    assert conflicts == 1
    await first.close()
    await second.close()


async def test_one_client_cannot_fill_the_pending_list(
    start_worker: Callable[..., Any], register: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    await register()
    worker = await start_worker(pending_max_per_address=3)
    client = await StationClient.open(worker.bound_port)
    await client.send(*[rtd(f"RAND{i:020d}", i, pw="x") for i in range(8)])
    await client.quiet(1.0)
    for _ in range(50):
        if await db_conn.fetchval("SELECT count(*) FROM pending_stations") >= 3:
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)
    assert await db_conn.fetchval("SELECT count(*) FROM pending_stations") == 3
    assert worker.dispatcher.rejected["pending_limit"] == 5
    # the total bound holds in the database across workers
    other = await start_worker(pending_max_total=4)
    client2 = await StationClient.open(other.bound_port)
    await client2.send(*[rtd(f"MORE{i:020d}", i, pw="x") for i in range(3)])
    await client2.quiet(1.0)
    await asyncio.sleep(2.5)
    assert await db_conn.fetchval("SELECT count(*) FROM pending_stations") == 4
    await client.close()
    await client2.close()


async def test_a_station_without_a_password_is_refused(
    start_worker: Callable[..., Any], register: Callable[..., Any]
) -> None:
    open_station = NewStation("NOPW0000000000000000001", "", "no password", "22")
    await register(open_station)
    worker = await start_worker()
    client = await StationClient.open(worker.bound_port)
    await client.send(rtd(open_station.mn, 1, pw=""), rtd(open_station.mn, 2, pw="anything"))
    assert not [f for f in await client.quiet(1.0) if f.cn == 9014]
    assert worker.dispatcher.rejected["no_password"] == 2
    await client.close()
    # the operator can allow it explicitly (a migration from a platform without checks)
    lenient = await start_worker(allow_empty_passwords=True)
    client = await StationClient.open(lenient.bound_port)
    await client.send(rtd(open_station.mn, 3, pw=""))
    assert [f.cn for f in await client.expect(1)] == [9014]
    await client.close()


async def test_registration_refuses_empty_passwords(
    db_dsn: str, pg_reachable_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(pg_reachable_tmp / "var", db_dsn)
    parser = station_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["add", "NOPW1"])  # --password is required
    capsys.readouterr()
    conn = await connect(db_dsn)
    try:
        with pytest.raises(StationError, match="non-empty password"):
            args = parser.parse_args(["add", "NOPW1", "--password", " "])
            await cli_station.ACTIONS["add"](conn, args, settings)
        await conn.execute(
            "INSERT INTO pending_stations (mn, st, password, edition, peer)"
            " VALUES ('PENDNOPW1', '22', '', '2017', '127.0.0.1')"
        )
        with pytest.raises(StationError, match="sent no password"):
            args = parser.parse_args(["approve", "PENDNOPW1"])
            await cli_station.ACTIONS["approve"](conn, args, settings)
        args = parser.parse_args(["approve", "PENDNOPW1", "--password", "given-pw"])
        await cli_station.ACTIONS["approve"](conn, args, settings)
        stored = await conn.fetchval("SELECT password FROM stations WHERE mn = 'PENDNOPW1'")
        box = box_for(settings.core.secret_key_path)
        assert box.open(stored, STATION_PASSWORD) == "given-pw"
    finally:
        await conn.close()


def test_key_file_rules(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    box = SecretBox.from_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sealed = box.seal("abc", STATION_PASSWORD)
    assert SecretBox.from_file(path).open(sealed, STATION_PASSWORD) == "abc"
    with pytest.raises(SecretBoxError, match="does not open"):
        box.open(sealed, "another.purpose")
    with pytest.raises(SecretBoxError, match="does not open"):
        SecretBox.from_file(tmp_path / "other.key").open(sealed, STATION_PASSWORD)
    assert box.open("legacy-plain", STATION_PASSWORD) == "legacy-plain"
    assert box.seal("", STATION_PASSWORD) == ""
    path.chmod(0o644)
    with pytest.raises(SecretBoxError, match="chmod 600"):
        SecretBox.from_file(path)
