"""HJ 212-2025 MN assignment and the new uploads, over TCP against a real worker and
PostgreSQL: a logger without an MN announces itself with CN 1001 (9013, pending list with
its identity), ``envgrid station assign`` registers it and CN 1002 reaches the logger on the
connection that sent the 1001 (at once, or when it announces itself again); hostile
identities and floods are refused and counted; 2013/2052/2062/2111 land in records_2025."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from envgrid.settings import Settings
from protocol import encode_execution_result, encode_request_answer, encode_upload
from protocol.sm4 import parse_key
from store.commands import CommandError, wait_command
from store.stations import StationError

from .conftest import StationClient, station_cli

LOGGER = "6970000000001ABCDEFG1234"
MN = "0100002025A8900016F0002B"
PW = "logger-pw"


def identity(
    logger_id: str = LOGGER,
    *,
    qn: str = "20261121100000001",
    cpu: str = "A800200A8C6D",
    mac1: str = "E86A643C7BBC",
    pw: str = PW,
) -> bytes:
    return encode_upload(
        1001,
        st="22",
        mn="",
        pw=pw,
        edition="2025",
        qn=qn,
        fields=[
            ("i23005-Info", logger_id),
            ("i23006-Info", cpu),
            ("i23007-Info", mac1),
            ("i23008-Info", "A763742C1AE1"),
        ],
    )


async def _logger_row(conn: asyncpg.Connection, logger_id: str = LOGGER) -> asyncpg.Record:
    for _ in range(50):
        row = await conn.fetchrow("SELECT * FROM pending_loggers WHERE logger_id = $1", logger_id)
        if row is not None:
            return row
        await asyncio.sleep(0.2)
    pytest.fail(f"logger {logger_id} never reached pending_loggers")


async def test_logger_announces_itself_and_gets_its_mn(
    register: Callable[..., Any],
    start_worker: Callable[..., Any],
    db_conn: asyncpg.Connection,
    db_dsn: str,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await register()
    worker = await start_worker()
    client = await StationClient.open(worker.bound_port)
    await client.send(identity())
    [ack] = await client.expect(1)
    assert (ack.cn, ack.mn, ack.flag, ack.qn) == (9013, "", 8, "20261121100000001")
    row = await _logger_row(db_conn)
    assert (row["cpu_id"], row["mac1"], row["mac2"], row["st"], row["decision"]) == (
        "A800200A8C6D", "E86A643C7BBC", "A763742C1AE1", "22", "pending",
    )  # fmt: skip
    assert PW not in row["password"] and "PW=******" in row["last_raw"]  # sealed, masked
    await station_cli(db_dsn, settings, "loggers")
    assert LOGGER in capsys.readouterr().out
    # a bad MN is refused before anything is registered
    with pytest.raises(StationError, match="24 characters"):
        await station_cli(db_dsn, settings, "assign", LOGGER, "--mn", "station-1")
    await station_cli(db_dsn, settings, "assign", LOGGER, "--mn", MN, "--name", "焚烧炉 1")
    # CN 1002 on the connection that sent the 1001: head MN assigned, CP names the logger
    [_, assign] = await client.expect(2)
    assert (assign.cn, assign.mn, assign.pw, assign.flag) == (1002, MN, PW, 9)
    assert assign.values["i23005"]["Info"] == LOGGER
    await client.send(
        encode_request_answer(qn=assign.qn, mn=MN, pw=PW, edition="2025"),
        encode_execution_result(qn=assign.qn, mn=MN, pw=PW, edition="2025"),
    )
    command_id = await db_conn.fetchval("SELECT command_id FROM pending_loggers")
    assert (await wait_command(db_conn, command_id, 10)).status == "succeeded"
    station = await db_conn.fetchrow(
        "SELECT id, registered_edition, attrs, name FROM stations WHERE mn = $1", MN
    )
    assert station["registered_edition"] == "2025" and station["name"] == "焚烧炉 1"
    assert station["attrs"]["logger_id"] == LOGGER
    assert await db_conn.fetchval("SELECT decision FROM pending_loggers") == "assigned"
    # the logger now uploads under its MN: a furnace temperature 5-min mean
    await client.send(
        encode_upload(
            2111, st="22", mn=MN, pw=PW, edition="2025", qn="20261121100500001",
            data_time="20261121100000", values={"a01901": {"Avg": "868"}},
        )
    )  # fmt: skip
    assert (await client.expect(3))[2].cn == 9014
    row = await db_conn.fetchrow("SELECT cn, code, value FROM records_2025")
    assert tuple(row) == (2111, "a01901", 868.0)
    await client.close()


async def test_assignment_waits_for_the_logger_to_come_back(
    register: Callable[..., Any],
    start_worker: Callable[..., Any],
    db_conn: asyncpg.Connection,
    db_dsn: str,
    settings: Settings,
) -> None:
    await register()
    worker = await start_worker()
    client = await StationClient.open(worker.bound_port)
    await client.send(identity())
    await client.expect(1)
    await _logger_row(db_conn)
    await client.close()
    await asyncio.sleep(0.2)
    await station_cli(db_dsn, settings, "assign", LOGGER, "--mn", MN, "--password", "new-pw")
    assert await db_conn.fetchval("SELECT status FROM station_commands") == "queued"
    # it reconnects (still without an MN) and announces itself again: 9013, then the 1002
    client = await StationClient.open(worker.bound_port)
    await client.send(identity(qn="20261121100000002"))
    frames = await client.expect(2)
    assert [f.cn for f in frames] == [9013, 1002]
    assert (frames[1].mn, frames[1].pw) == (MN, "new-pw")
    await client.close()


async def test_hostile_identities_are_refused_and_counted(
    register: Callable[..., Any],
    start_worker: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    await register()
    worker = await start_worker(pending_max_per_address=2)
    client = await StationClient.open(worker.bound_port)
    await client.send(
        identity("A" * 33),  # too long
        identity("<script>alert(1)</script>"),  # markup
        identity(LOGGER, mac1="not-a-mac"),
    )
    assert await client.quiet(0.5) == []  # no 9013 for any of them
    assert worker.dispatcher.rejected["bad_identity"] == 3
    # one address brings at most pending_max_per_address new loggers per hour
    await client.send(*(identity(f"L{i}", qn=f"2026112110000000{i}") for i in range(4)))
    acks = await client.quiet(1.0)
    assert len(acks) == 2
    assert worker.dispatcher.rejected["logger_limit"] == 2
    await _logger_row(db_conn, "L1")
    assert await db_conn.fetchval("SELECT count(*) FROM pending_loggers") == 2
    # the same logger id again with another CPU ID: kept as first seen, counted
    await client.send(identity("L0", cpu="OTHERCPU", qn="20261121100000009"))
    await client.expect(3)
    for _ in range(50):
        row = await db_conn.fetchrow(
            "SELECT cpu_id, identity_conflicts FROM pending_loggers WHERE logger_id = 'L0'"
        )
        if row["identity_conflicts"]:
            break
        await asyncio.sleep(0.2)
    assert tuple(row) == ("A800200A8C6D", 1)
    await client.close()


async def test_policy_reject_refuses_loggers(
    register: Callable[..., Any], start_worker: Callable[..., Any]
) -> None:
    await register()
    worker = await start_worker(unknown_mn="reject")
    client = await StationClient.open(worker.bound_port)
    await client.send(identity())
    assert await client.closed_by_peer()
    assert worker.dispatcher.rejected["unknown_logger"] == 1
    await client.close()


async def test_2025_records_stored_and_instrument_commands(
    register: Callable[..., Any],
    start_worker: Callable[..., Any],
    db_conn: asyncpg.Connection,
    db_dsn: str,
    settings: Settings,
) -> None:
    """2013 / 2052 / 2062 / 2111 uploads (encrypted) land in records_2025; the 2025
    instrument commands reach the station with their validated parameters."""
    key = "0000000000000000"
    await register()
    await station_cli(
        db_dsn, settings, "add", MN, "--password", PW, "--st", "31",
        "--edition", "2025", "--sm4-key", key,
    )  # fmt: skip
    worker = await start_worker()
    client = await StationClient.open(worker.bound_port, [parse_key(key)])
    uploads = [
        (2013, {"a21026": {"SampleTime": "20261121095500", "CompleteTime": "20261121100000",
                           "SampleType": "1", "Avg": "12.5", "Flag": "N"}}),
        (2052, {"LA": {"Data": "55.2"}}),
        (2062, {"w01018": {"SampleRd": "49.8", "StandardValue": "50", "ResultType": "1"}}),
        (2111, {"a01901": {"Avg": "868"}}),
    ]  # fmt: skip
    frames = [
        encode_upload(
            cn, st="31", mn=MN, pw=PW, edition="2025", qn=f"2026112110000{i:04d}",
            data_time="20261121100000", values=values, sm4_key=parse_key(key),
        )
        for i, (cn, values) in enumerate(uploads)
    ]  # fmt: skip
    await client.send(*frames, frames[3])  # the 2111 retransmitted: stored once
    acks = await client.expect(5)
    assert [a.cn for a in acks] == [9014] * 5
    rows = await db_conn.fetch("SELECT cn, code, value, fields FROM records_2025 ORDER BY cn, code")
    assert [(r["cn"], r["code"], r["value"]) for r in rows] == [
        (2013, "a21026", 12.5), (2052, "LA", 55.2), (2062, "w01018", 49.8),
        (2111, "a01901", 868.0),
    ]  # fmt: skip
    assert rows[0]["fields"]["CompleteTime"] == "20261121100000"
    assert rows[2]["fields"] == {"StandardValue": "50", "ResultType": "1"}
    assert await db_conn.fetchval("SELECT count(*) FROM info_uploads") == 0
    # zero/span calibration with CalibrationType, sample retention, standard-sample check
    for verb, params in (
        ("calibrate", ["PolId=w01018", "CalibrationType=1"]),
        ("retain-sample", ["PolId=w01018"]),
        ("check-standard", ["PolId=w01018"]),
    ):
        await station_cli(db_dsn, settings, "command", MN, verb, *params)
    sent = (await client.expect(8))[5:]
    assert [(f.cn, dict(f.fields)) for f in sent] == [
        (3011, {"PolId": "w01018", "CalibrationType": "1"}),
        (3022, {"PolId": "w01018"}),
        (3024, {"PolId": "w01018"}),
    ]
    for verb, params in (
        ("calibrate", ["PolId=w01018", "CalibrationType=2"]),
        ("check-standard", []),
        ("retain-sample", ["PolId=w01018<x>"]),
    ):
        with pytest.raises(CommandError):
            await station_cli(db_dsn, settings, "command", MN, verb, *params)
    await client.close()


async def test_mn_goes_only_to_the_logger_with_the_assigned_identity(
    register: Callable[..., Any],
    start_worker: Callable[..., Any],
    db_conn: asyncpg.Connection,
    db_dsn: str,
    settings: Settings,
) -> None:
    """Someone who knows a logger id (it may be printed on the device) announces it with
    another CPU ID / MAC: the MN and its password are not sent to them."""
    await register()
    worker = await start_worker()
    logger = await StationClient.open(worker.bound_port)
    await logger.send(identity())
    await logger.expect(1)
    await _logger_row(db_conn)
    thief = await StationClient.open(worker.bound_port)
    await thief.send(identity(cpu="FFFFFFFFFFFF", mac1="FFFFFFFFFFFF", pw="guess"))
    await thief.expect(1)  # 9013 like anyone; the conflict is counted
    assert worker.dispatcher.rejected["logger_identity_conflict"] == 1
    await station_cli(db_dsn, settings, "assign", LOGGER, "--mn", MN)
    [_, assign] = await logger.expect(2)
    assert (assign.cn, assign.mn, assign.pw) == (1002, MN, PW)
    assert [f.cn for f in await thief.quiet(1.0)] == [9013]
    # the first logger gone, the other one is not given the MN either (the stored
    # identity decides, whichever worker holds the connection)
    await logger.close()
    await db_conn.execute("UPDATE station_commands SET status = 'queued'")
    await thief.send(identity(cpu="FFFFFFFFFFFF", mac1="FFFFFFFFFFFF", qn="20261121100000005"))
    assert [f.cn for f in await thief.quiet(1.0)] == [9013, 9013]
    await thief.close()
