"""The ingest worker against a real PostgreSQL: storage, acks, rejections, commands."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg

from protocol import encode_execution_result, encode_frame, encode_request_answer, encode_upload
from store.commands import queue_command, wait_command
from store.logcontext import log_fields
from store.stations import NewStation
from tests.logcapture import json_lines, logging_into

from .conftest import StationClient

AIR = NewStation("AQ0000000000000000000001", "123456", "air", "22", 30.27, 120.15, "西湖区")
WATER = NewStation("010000A8900016F000169DC0", "123456", "water", "32", 30.3, 120.2, "上城区")
OLD = NewStation("88888880000001", "654321", "2005 water", "32", 30.1, 120.1, "滨江区")


def rtd(
    mn: str, i: int, *, edition: str = "2017", pw: str = "123456", ack: bool = True, st: str = "22"
) -> bytes:
    values = {"a21026": {"Rtd": f"{i}.5", "Flag": "N"}, "a34004": {"Rtd": "35", "Flag": "N"}}
    return encode_upload(
        2011,
        st=st,
        mn=mn,
        pw=pw,
        edition=edition,
        qn=f"20261121100000{i:03d}",
        data_time=f"202611211{i // 60:01d}{i % 60:02d}00",
        values=values,
        ack=ack,
    )


def upload(
    cn: int, mn: str, qn: str, data_time: str, values: dict[str, dict[str, str]], st: str = "32"
) -> bytes:
    """A 2017 upload of ``cn`` with the test stations' password."""
    return encode_upload(cn, st=st, mn=mn, pw="123456", qn=qn, data_time=data_time, values=values)


async def counts(conn: asyncpg.Connection) -> dict[str, int]:
    out = {}
    for table in (
        "measurements_rtd",
        "measurements_minute",
        "measurements_hour",
        "measurements_day",
        "packet_ledger",
        "equipment_status",
    ):
        out[table] = await conn.fetchval(f"SELECT count(*) FROM {table}")
    return out


async def test_uploads_stored_exactly_once_and_acked(
    start_worker: Callable[..., Any], register: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    await register(AIR, WATER, OLD)
    worker = await start_worker()
    air = await StationClient.open(worker.bound_port)
    water = await StationClient.open(worker.bound_port)
    old = await StationClient.open(worker.bound_port)

    air_frames = [rtd(AIR.mn, i) for i in range(20)]
    await air.send(*air_frames, *air_frames[:5])  # 5 retransmissions
    # split hourly upload (C.50): two parts, each acked; plus minute and daily data
    parts = [
        encode_upload(
            2061,
            st="32",
            mn=WATER.mn,
            pw="123456",
            qn=f"2026112110585753{p}",
            data_time="20261121090000",
            pnum=2,
            pno=p,
            values={
                ("w00000" if p == 1 else "w01018"): {
                    "Cou": "63.0",
                    "Min": "16.4",
                    "Avg": "17.5",
                    "Max": "20.1",
                    "Flag": "N",
                }
            },
        )
        for p in (1, 2)
    ]
    minute = upload(
        2051,
        WATER.mn,
        "20261121100000001",
        "20261121095000",
        {"w01018": {"Avg": "40.1", "Min": "40.0", "Max": "40.2", "Cou": "10.5", "Flag": "N"}},
    )
    daily = upload(
        2031,
        WATER.mn,
        "20261121100000002",
        "20261120000000",
        {"w01018": {"Avg": "40.1", "Min": "1", "Max": "90"}},
    )
    status = upload(
        2021,
        WATER.mn,
        "20261121100000003",
        "20261121100000",
        {"SB1": {"RS": "1"}, "SB2": {"RS": "0"}},
    )
    await water.send(*parts, parts[1], minute, daily, status)
    # 2005: legacy codes, no QN/Flag → no ack expected; one with Flag=1 → ack
    old_frames = [
        encode_frame(
            "ST=32;CN=2011;PW=654321;MN=88888880000001;CP=&&DataTime=20261121100000;"
            "B01-Rtd=100;011-Rtd=1.1,011-Flag=N;060-Rtd=2.2,060-Flag=N&&"
        ),
        encode_frame(
            "QN=20261121100100001;ST=32;CN=2011;PW=654321;MN=88888880000001;Flag=1;"
            "CP=&&DataTime=20261121100100;011-Rtd=1.2,011-Flag=N&&"
        ),
    ]
    await old.send(*old_frames)

    acks_air = await air.expect(25)
    acks_water = await water.expect(6)
    acks_old = await old.expect(1)
    assert all(a.cn == 9014 for a in acks_air + acks_water + acks_old)
    assert sorted(a.qn for a in acks_air) == sorted(
        [f"20261121100000{i:03d}" for i in range(20)] + [f"20261121100000{i:03d}" for i in range(5)]
    )
    assert {a.qn for a in acks_water} == {
        "20261121105857531",
        "20261121105857532",
        "20261121100000001",
        "20261121100000002",
        "20261121100000003",
    }
    assert acks_old[0].edition == "2005" and acks_old[0].fields["QN"] == "20261121100100001"

    rows = await db_conn.fetch(
        "SELECT s.mn, f.code, count(*) AS n FROM measurements m JOIN stations s ON s.id = "
        "m.station_id JOIN factors f ON f.id = m.factor_id GROUP BY 1, 2 ORDER BY 1, 2"
    )
    got = {(r["mn"], r["code"]): r["n"] for r in rows}
    assert got == {
        (AIR.mn, "a21026"): 20,
        (AIR.mn, "a34004"): 20,
        (WATER.mn, "w00000"): 1,
        (WATER.mn, "w01018"): 3,
        (OLD.mn, "w00000"): 1,
        (OLD.mn, "w01018"): 2,
        (OLD.mn, "w21003"): 1,
    }
    c = await counts(db_conn)
    assert c["packet_ledger"] == 20 + 5 + 2
    assert c["equipment_status"] == 2
    hour = await db_conn.fetchrow(
        "SELECT value, vmin, vmax, cou FROM measurements_hour "
        "WHERE factor_id = (SELECT id FROM factors WHERE code = 'w01018')"
    )
    assert tuple(hour) == (17.5, 16.4, 20.1, 63.0)
    value = await db_conn.fetchval(
        "SELECT value FROM measurements_rtd m JOIN factors f ON f.id = m.factor_id "
        "WHERE f.code = 'a21026' AND ts = '2026-11-21 10:03:00+08'"
    )
    assert value == 3.5
    for client in (air, water, old):
        await client.close()


async def test_ack_comes_after_the_data_is_committed(
    start_worker: Callable[..., Any], register: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    await register(AIR)
    worker = await start_worker(batch_ms=300)
    client = await StationClient.open(worker.bound_port)
    for i in range(5):
        await client.send(rtd(AIR.mn, i))
        [ack] = (await client.expect(i + 1))[i:]
        # the moment the ack is here, the row is visible to any other session
        n = await db_conn.fetchval("SELECT count(*) FROM packet_ledger WHERE qn = $1", ack.qn)
        assert n == 1
    await client.close()


async def test_bad_input_is_counted_and_never_stored(
    start_worker: Callable[..., Any], register: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    await register(AIR, WATER)
    worker = await start_worker()
    good = await StationClient.open(worker.bound_port)
    bad = await StationClient.open(worker.bound_port)
    corrupt = bytearray(rtd(AIR.mn, 1))
    corrupt[60] ^= 1
    oversize = encode_upload(
        2011,
        st="22",
        mn=AIR.mn,
        pw="123456",
        qn="20261121100000999",
        data_time="20261121100000",
        values={f"a{i:05d}": {"Rtd": "1.0", "Flag": "N"} for i in range(80)},
    )
    await bad.send(
        rtd("UNKNOWN00000000000000001", 1),  # unknown MN → pending list
        rtd(AIR.mn, 2, pw="000000"),  # wrong password
        bytes(corrupt),  # CRC mismatch
        oversize,  # LLLL > 1024
        b"\x00\xffGET / HTTP/1.1\r\n\r\n",  # garbage
        encode_upload(
            2011,
            st="32",
            mn=WATER.mn,
            pw="123456",
            qn="20261121100000998",
            data_time="20991231000000",
            values={"w01018": {"Rtd": "1"}},
        ),  # far future
    )
    await good.send(rtd(AIR.mn, 3))
    assert [a.qn for a in await good.expect(1)] == ["20261121100000003"]
    assert await bad.quiet(1.0) == []  # nothing rejected is acked
    assert await db_conn.fetchval("SELECT count(*) FROM measurements") == 2  # only the good one
    d = worker.dispatcher
    assert d.rejected["unknown_mn"] == 1
    assert d.rejected["bad_password"] == 1
    assert d.rejected["datatime_out_of_range"] == 1
    assert d.decoder_errors["crc_mismatch"] == 1
    assert d.decoder_errors["oversize"] == 1
    assert d.decoder_errors["garbage"] == 1
    await asyncio.sleep(2.5)  # the state flusher writes the pending MN
    pending = await db_conn.fetchrow("SELECT mn, frames, st FROM pending_stations")
    assert tuple(pending) == ("UNKNOWN00000000000000001", 1, "22")
    for client in (good, bad):
        await client.close()


async def test_unknown_mn_rejected_when_policy_is_reject(
    start_worker: Callable[..., Any], register: Callable[..., Any]
) -> None:
    await register(AIR)
    worker = await start_worker(unknown_mn="reject")
    client = await StationClient.open(worker.bound_port)
    await client.send(rtd("UNKNOWN00000000000000001", 1))
    assert await client.closed_by_peer()
    assert worker.dispatcher.rejected["unknown_mn"] == 1
    await client.close()


async def test_approved_station_is_accepted_without_restart(
    start_worker: Callable[..., Any], register: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    await register(AIR)
    worker = await start_worker()
    worker.registry._negative_ttl = 0.0  # test speed: re-ask the database on every miss
    client = await StationClient.open(worker.bound_port)
    mn = "NEW00000000000000000001"
    await client.send(rtd(mn, 1))
    assert await client.quiet(0.5) == []
    await db_conn.execute("INSERT INTO stations (mn, password) VALUES ($1, '123456')", mn)
    await client.send(rtd(mn, 2))
    assert [a.qn for a in await client.expect(1)] == ["20261121100000002"]
    await client.close()


async def test_reconnecting_station_wins_over_its_old_connection(
    start_worker: Callable[..., Any], register: Callable[..., Any]
) -> None:
    await register(AIR)
    worker = await start_worker()
    first = await StationClient.open(worker.bound_port)
    await first.send(rtd(AIR.mn, 1))
    await first.expect(1)
    second = await StationClient.open(worker.bound_port)
    await second.send(rtd(AIR.mn, 2))
    await second.expect(1)
    assert await first.closed_by_peer()
    assert worker.dispatcher.sessions[AIR.mn] is not None
    assert worker.dispatcher.replaced == 1
    await first.close()
    await second.close()


async def test_idle_connection_is_closed(
    start_worker: Callable[..., Any], register: Callable[..., Any]
) -> None:
    await register(AIR)
    worker = await start_worker(idle_timeout_s=1.0)
    client = await StationClient.open(worker.bound_port)
    await client.send(rtd(AIR.mn, 1))
    await client.expect(1)
    assert await client.closed_by_peer(timeout=15)
    await client.close()


async def test_downlink_command_sent_answered_and_recorded(
    start_worker: Callable[..., Any], register: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    await register(WATER)
    worker = await start_worker()
    client = await StationClient.open(worker.bound_port)
    await client.send(
        encode_upload(
            2011,
            st="32",
            mn=WATER.mn,
            pw="123456",
            qn="20261121100000001",
            data_time="20261121100000",
            values={"w01018": {"Rtd": "40"}},
        )
    )
    await client.expect(1)
    command_id = await queue_command(
        db_conn,
        mn=WATER.mn,
        cn=2061,
        created_by="test",
        params={"BeginTime": "20261121080000", "EndTime": "20261121090000"},
    )
    [_, request] = await client.expect(2)
    assert request.kind == "command" and request.cn == 2061
    assert request.fields["BeginTime"] == "20261121080000"
    await client.send(
        encode_request_answer(qn=request.qn, mn=WATER.mn, pw="123456", edition="2017"),
        encode_upload(
            2061,
            st="32",
            mn=WATER.mn,
            pw="123456",
            qn="20261121100000777",
            data_time="20261121080000",
            values={"w01018": {"Avg": "40.1"}},
        ),
        encode_execution_result(qn=request.qn, mn=WATER.mn, pw="123456", edition="2017"),
    )
    record = await wait_command(db_conn, command_id, 10)
    assert record.status == "succeeded", record
    assert record.qn_rtn == 1 and record.exe_rtn == 1
    assert [r["cn"] for r in record.replies] == [9011, 2061, 9012]
    # the command's record can be written before the 2061 upload's batch commits: its ack
    # (9014) says it is stored
    [*_, ack] = await client.expect(3)
    assert ack.cn == 9014 and ack.qn == "20261121100000777"
    assert await db_conn.fetchval("SELECT count(*) FROM measurements_hour") == 1
    await client.close()


async def test_command_waits_for_a_station_to_connect(
    start_worker: Callable[..., Any],
    register: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    with logging_into() as out:
        await _command_waits(start_worker, register, db_conn)
    # the worker that sent it (a task of its own, later) logs the request that queued it
    [sent] = [e for e in json_lines(out) if e["msg"].startswith("sent command")]
    assert (sent["request_id"], sent["mn"]) == ("web-77", WATER.mn)


async def _command_waits(
    start_worker: Callable[..., Any], register: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    await register(WATER)
    worker = await start_worker()
    with log_fields(request_id="web-77"):  # queued by a dashboard request
        command_id = await queue_command(db_conn, mn=WATER.mn, cn=1062, params={"RtdInterval": 60})
    client = await StationClient.open(worker.bound_port)
    await client.send(
        encode_upload(
            2011,
            st="32",
            mn=WATER.mn,
            pw="123456",
            qn="20261121100000001",
            data_time="20261121100000",
            values={"w01018": {"Rtd": "40"}},
        )
    )
    frames = await client.expect(2)
    [request] = [f for f in frames if f.cn == 1062]
    assert request.fields == {"RtdInterval": "60"}
    await client.send(
        encode_request_answer(qn=request.qn, mn=WATER.mn, pw="123456", edition="2017", qn_rtn=2)
    )
    record = await wait_command(db_conn, command_id, 10)
    assert record.status == "rejected" and record.qn_rtn == 2
    await client.close()


async def test_time_calibration_request_gets_9013_and_set_time(
    start_worker: Callable[..., Any], register: Callable[..., Any]
) -> None:
    await register(WATER)
    worker = await start_worker()
    client = await StationClient.open(worker.bound_port)
    await client.send(
        encode_frame(f"QN=20261121100000001;ST=32;CN=1013;PW=123456;MN={WATER.mn};Flag=5;CP=&&&&")
    )
    answer, set_time = await client.expect(2)
    assert answer.cn == 9013 and answer.qn == "20261121100000001"
    assert set_time.cn == 1012 and len(set_time.fields["SystemTime"]) == 14
    await client.close()


async def test_graceful_stop_flushes_and_acks_everything(
    start_worker: Callable[..., Any], register: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    await register(AIR)
    worker = await start_worker(batch_ms=5000, batch_rows=100_000)
    client = await StationClient.open(worker.bound_port)
    frames = [rtd(AIR.mn, i) for i in range(50)]
    await client.send(*frames)
    await asyncio.sleep(0.5)
    assert await db_conn.fetchval("SELECT count(*) FROM packet_ledger") == 0  # still batching
    await worker.stop()
    acks = await client.expect(50)
    assert len(acks) == 50
    assert await db_conn.fetchval("SELECT count(*) FROM packet_ledger") == 50
    await client.close()


async def test_reading_pauses_when_the_writer_falls_behind(
    start_worker: Callable[..., Any], register: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    await register(AIR)
    worker = await start_worker(batch_ms=200, batch_rows=20, queue_high=40, queue_low=20)
    paused: list[bool] = []
    original = worker.dispatcher.pause_all

    def spy() -> None:
        paused.append(True)
        original()

    worker.pipeline._pause = spy
    client = await StationClient.open(worker.bound_port)
    frames = [rtd(AIR.mn, i) for i in range(300)]
    await client.send(*frames)
    acks = await client.expect(300, timeout=30)
    assert len(acks) == 300 and paused
    assert worker.pipeline.depth == 0 and not worker.pipeline.paused
    assert await db_conn.fetchval("SELECT count(*) FROM packet_ledger") == 300
    await client.close()


async def test_committed_values_are_announced_on_the_readings_feed(
    start_worker: Callable[..., Any], register: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    from store.feed import READINGS_CHANNEL, decode_readings

    await register(AIR)
    got: list[str] = []
    await db_conn.add_listener(READINGS_CHANNEL, lambda *args: got.append(args[3]))
    worker = await start_worker()
    client = await StationClient.open(worker.bound_port)
    await client.send(*[rtd(AIR.mn, i) for i in range(3)], rtd(AIR.mn, 0))  # one resend
    await client.expect(4)
    await asyncio.sleep(0.3)
    readings = [r for payload in got for r in decode_readings(payload)]
    assert len(readings) == 6 and {r.kind for r in readings} == {"r"}
    assert sorted(r.value for r in readings) == [0.5, 1.5, 2.5, 35.0, 35.0, 35.0]
    await client.close()


async def test_readings_of_retransmissions_are_not_announced_again(
    start_worker: Callable[..., Any], register: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    """A batch of new frames announces its real-time readings with its ledger statement; a
    batch holding frames stored before (retransmissions after a lost ack) announces those
    of its new frames only, and its hourly values as well."""
    from store.feed import READINGS_CHANNEL, decode_readings

    await register(AIR)
    got: list[str] = []
    await db_conn.add_listener(READINGS_CHANNEL, lambda *args: got.append(args[3]))
    worker = await start_worker()
    client = await StationClient.open(worker.bound_port)
    await client.send(*[rtd(AIR.mn, i) for i in range(3)])
    await client.expect(3)
    await asyncio.sleep(0.3)
    first = [r for payload in got for r in decode_readings(payload)]
    assert sorted(r.value for r in first) == [0.5, 1.5, 2.5, 35.0, 35.0, 35.0]

    got.clear()
    hourly = upload(
        2061,
        AIR.mn,
        "20261121100000900",
        "20261121080000",
        {"a34004": {"Avg": "41", "Flag": "N"}},
        st="22",
    )
    await client.send(rtd(AIR.mn, 0), rtd(AIR.mn, 1), rtd(AIR.mn, 7), hourly)  # one batch
    await client.expect(4)
    await asyncio.sleep(0.3)
    second = [r for payload in got for r in decode_readings(payload)]
    assert sorted((r.kind, r.value) for r in second) == [("h", 41.0), ("r", 7.5), ("r", 35.0)]
    assert await db_conn.fetchval("SELECT count(*) FROM packet_ledger") == 5
    assert worker.pipeline.stats.duplicates == 2
    await client.close()
