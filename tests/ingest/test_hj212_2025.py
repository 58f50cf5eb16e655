"""HJ 212-2025 stations against a real worker and PostgreSQL, over TCP: registered with
``envgrid station add --edition 2025 --sm4-key``, their encrypted uploads are decrypted,
stored and acked in the 2025 form; a wrong key, a strict edition, RF=1, heartbeats, split
parts, encrypted commands, key rotation (CN 1014) and unknown encrypted loggers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from envgrid.settings import Settings
from protocol import encode_execution_result, encode_request_answer, encode_upload
from protocol.sm4 import parse_key
from store.commands import queue_command, wait_command
from store.secretbox import SM4_KEY, box_for

from .conftest import StationClient, station_cli

MN = "0100002025A8900016F0001A"
PW = "2025-pw"
KEY_TEXT = "0000000000000000"
KEY = parse_key(KEY_TEXT)


def upload(
    i: int,
    *,
    key: bytes | None = KEY,
    edition: str = "2025",
    cn: int = 2011,
    **kw: Any,
) -> bytes:
    return encode_upload(
        cn,
        st="22",
        mn=MN,
        pw=PW,
        edition=edition,
        qn=f"20261121100000{i:03d}",
        data_time=f"2026112110{i // 60:02d}{i % 60:02d}00"[:14],
        values={"a34004": {"Rtd": f"{30 + i}", "Flag": "N"}, "a21026": {"Rtd": "8", "Flag": "N"}},
        sm4_key=key,
        **kw,
    )


@pytest.fixture
async def station(register: Callable[..., Any], db_dsn: str, settings: Settings) -> None:
    await register()  # factors
    await station_cli(
        db_dsn, settings, "add", MN, "--password", PW, "--st", "22",
        "--edition", "2025", "--sm4-key", KEY_TEXT,
    )  # fmt: skip


async def _rows(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM measurements_rtd"))


async def test_encrypted_uploads_stored_and_acked_in_the_2025_form(
    station: None, start_worker: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    sealed = await db_conn.fetchval("SELECT sm4_key FROM stations WHERE mn = $1", MN)
    assert sealed.startswith("enc:v1:") and KEY_TEXT not in sealed
    worker = await start_worker()
    client = await StationClient.open(worker.bound_port, [KEY])
    frames = [upload(i) for i in range(1, 4)]
    assert all(b"CP=&&{0x" in f for f in frames)
    await client.send(*frames)
    acks = await client.expect(3)
    assert [(a.cn, a.st, a.flag, a.edition) for a in acks] == [(9014, "91", 8, "2025")] * 3
    assert [a.qn for a in acks] == [f"20261121100000{i:03d}" for i in range(1, 4)]
    assert await _rows(db_conn) == 6
    raw = await db_conn.fetchval("SELECT raw FROM packet_ledger ORDER BY data_time LIMIT 1")
    assert "a34004-Rtd=31" in raw and "PW=******" in raw  # the plaintext frame, PW masked
    # a wrong key, a tampered frame: neither acked nor stored, counted
    await client.send(upload(10, key=parse_key("9" * 16)))
    assert await client.quiet(0.5) == acks
    assert worker.dispatcher.decoder_errors["crc_mismatch"] == 1
    assert await _rows(db_conn) == 6
    # heartbeat 9015 → 9013
    await client.send(
        encode_upload(9015, st="22", mn=MN, pw=PW, edition="2025", qn="20261121100000777")
    )
    [beat] = (await client.expect(4))[3:]
    assert (beat.cn, beat.flag, beat.qn) == (9013, 8, "20261121100000777")
    await client.close()


async def test_backfill_split_parts_and_editions(
    station: None,
    start_worker: Callable[..., Any],
    db_conn: asyncpg.Connection,
    db_dsn: str,
    settings: Settings,
) -> None:
    worker = await start_worker()
    client = await StationClient.open(worker.bound_port, [KEY])
    await client.send(upload(1, backfill=True))
    await client.expect(1)
    assert await db_conn.fetchval("SELECT backfill FROM packet_ledger") is True
    assert worker.dispatcher.flagged["backfill"] == 1
    parts = [
        upload(2, cn=2061, pnum=2, pno=1),
        upload(3, cn=2061, pnum=2, pno=2),
    ]
    assert all(b"Flag=11;PNUM=2;PNO=" in p for p in parts)
    await client.send(*parts)
    assert len(await client.expect(3)) == 3  # each part acked
    # a 2017 frame from a station registered as 2025: accepted and flagged …
    await client.send(upload(4, key=None, edition="2017"))
    assert (await client.expect(4))[3].flag == 4
    assert worker.dispatcher.flagged["edition_mismatch"] == 1
    # … or refused when the station is strict
    await station_cli(db_dsn, settings, "set", MN, "--strict-edition")
    for _ in range(50):
        await client.send(upload(5, key=None, edition="2017"))
        await asyncio.sleep(0.1)
        if worker.dispatcher.rejected["edition_mismatch"]:
            break
    assert worker.dispatcher.rejected["edition_mismatch"] >= 1
    await client.close()


async def test_unknown_encrypted_logger_waits_as_2025(
    register: Callable[..., Any], start_worker: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    await register()
    worker = await start_worker()
    client = await StationClient.open(worker.bound_port)
    await client.send(upload(1))
    assert await client.quiet(0.5) == []
    assert worker.dispatcher.decoder_errors["sm4_no_key"] == 1
    row = None
    for _ in range(50):
        row = await db_conn.fetchrow(
            "SELECT edition, encrypted, password FROM pending_stations WHERE mn = $1", MN
        )
        if row is not None:
            break
        await asyncio.sleep(0.2)
    assert row is not None and row["edition"] == "2025" and row["encrypted"]
    assert PW not in row["password"]  # sealed
    await client.close()


async def test_commands_go_encrypted_and_keys_rotate(
    station: None,
    start_worker: Callable[..., Any],
    db_conn: asyncpg.Connection,
    db_dsn: str,
    settings: Settings,
) -> None:
    worker = await start_worker()
    client = await StationClient.open(worker.bound_port, [KEY])
    await client.send(upload(1))
    await client.expect(1)
    box = box_for(settings.core.secret_key_path)
    command_id = await queue_command(
        db_conn,
        mn=MN,
        cn=2061,
        params={"BeginTime": "20261121080000", "EndTime": "20261121090000"},
        box=box,
    )
    [_, request] = await client.expect(2)
    assert (
        request.encrypted and request.flag == 9 and request.fields["BeginTime"] == "20261121080000"
    )
    await client.send(
        encode_request_answer(qn=request.qn, mn=MN, pw=PW, edition="2025"),
        encode_execution_result(qn=request.qn, mn=MN, pw=PW, edition="2025"),
    )
    assert (await wait_command(db_conn, command_id, 10)).status == "succeeded"
    # rotation: the new key travels encrypted with the old one, and is used once confirmed
    await station_cli(db_dsn, settings, "rotate-key", MN)
    exchange = (await client.expect(3))[2]
    assert exchange.cn == 1014 and exchange.encrypted
    new_key = exchange.fields["NewSK"]
    assert len(new_key) == 16 and exchange.fields["SKCreateTime"].isdigit()
    stored = await db_conn.fetchval("SELECT params->>'NewSK' FROM station_commands WHERE cn = 1014")
    assert new_key not in stored
    client.sm4_keys = [parse_key(new_key), KEY]
    # the logger switches at once: its next frame, under the new key, is read before the
    # registry has the confirmation (the key in flight is tried last)
    await client.send(upload(4, key=parse_key(new_key)))
    ack = (await client.expect(4))[3]
    assert (ack.cn, ack.qn) == (9014, "20261121100000004")
    await client.send(
        encode_request_answer(qn=exchange.qn, mn=MN, pw=PW, edition="2025"),
        encode_execution_result(qn=exchange.qn, mn=MN, pw=PW, edition="2025"),
    )
    for _ in range(50):
        current = await db_conn.fetchval("SELECT sm4_key FROM stations WHERE mn = $1", MN)
        if box.open(current, SM4_KEY) == new_key:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the confirmed key was not registered")
    for i, key in ((5, parse_key(new_key)), (6, KEY)):  # new key, and the old one in grace
        for _ in range(50):
            await client.send(upload(i, key=key))
            await asyncio.sleep(0.1)
            if (await client.quiet(0.1))[-1].qn == f"20261121100000{i:03d}":
                break
        else:
            pytest.fail(f"frame {i} was not acked")
    assert worker.dispatcher.flagged["previous_sm4_key"] >= 1
    # the logger asks for a key itself: 9013, and an exchange is queued
    ask = encode_upload(
        1014, st="22", mn=MN, pw=PW, edition="2025", qn="20261121100000888",
        fields=[("SKCreateTime", "20261121100000888")],
    )  # fmt: skip
    await client.send(ask)
    for _ in range(50):
        n = await db_conn.fetchval(
            "SELECT count(*) FROM station_commands WHERE cn = 1014 AND created_by = 'station-request'"
        )
        if n:
            break
        await asyncio.sleep(0.1)
    assert n == 1
    await client.quiet(0.5)
    assert any(f.cn == 9013 and f.qn == "20261121100000888" for f in client.received)
    await client.close()
