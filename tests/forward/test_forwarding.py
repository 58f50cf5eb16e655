"""Forwarding against a real upstream on loopback and a real PostgreSQL: frames stored by
a real ingest worker reach the upstream re-encoded, through lost acks, resets, an upstream
outage and a restart of the forwarder — nothing lost, duplicates only for lost acks."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from forward.metrics import ForwardMetrics
from forward.repo import add_target, target_status
from forward.targets import TargetSpec
from protocol import Frame, encode_upload
from protocol.sm4 import parse_key
from simulators.upstream import UpstreamServer
from store.stations import NewStation
from tests.forward.conftest import ForwardKit
from tests.ingest.conftest import StationClient

STATIONS = [NewStation(f"FWD{i:021d}", "123456", f"s{i}", "22") for i in range(3)]
CST = ZoneInfo("Asia/Shanghai")
_T0 = datetime.now(CST).replace(second=0, microsecond=0) - timedelta(minutes=5)


def upload(mn: str, n: int, *, age: timedelta = timedelta(0), **kw: Any) -> bytes:
    t = _T0 - age + timedelta(seconds=n)
    return encode_upload(
        2051,
        st="22",
        mn=mn,
        pw="123456",
        **kw,
        qn=t.strftime("%Y%m%d%H%M%S") + "000",
        data_time=t.strftime("%Y%m%d%H%M%S"),
        values={"a34004": {"Avg": 30.0 + n, "Flag": "N"}},
    )


async def send(port: int, frames_by_mn: dict[str, list[bytes]]) -> None:
    """Send and wait for the worker's 9014 of every frame (they are stored)."""
    for frames in frames_by_mn.values():
        client = await StationClient.open(port)
        await client.send(*frames)
        await client.expect(len(frames))
        await client.close()


def by_station(frames: list[Frame]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for f in frames:
        out[f.mn or ""].append(f.data_time or "")
    return out


async def backlog(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM forward_outbox"))


async def drained(conn: asyncpg.Connection, within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while await backlog(conn):
            await asyncio.sleep(0.05)


async def status_when(
    conn: asyncpg.Connection, ready: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The first target's status once ``ready`` (the forwarder writes it every 0.1 s)."""
    async with asyncio.timeout(5):
        while not ready(status := (await target_status(conn))[0]):
            await asyncio.sleep(0.05)
    return status


async def test_outage_and_restart_lose_nothing(kit: ForwardKit) -> None:
    await kit.register(*STATIONS)
    mapped = {STATIONS[0].mn: "PROV0000000000000000001"}
    spec = TargetSpec("prov", "127.0.0.1", kit.upstream.port, password="up-pw", mn_map=mapped)
    await add_target(kit.db_conn, spec, kit.box, created_by="test")
    worker = await kit.start_worker()
    _, stop, task = await kit.forwarder()
    first = {s.mn: [upload(s.mn, i) for i in range(10)] for s in STATIONS}
    await send(worker.bound_port, first)
    await kit.upstream.wait_for(30)
    await drained(kit.db_conn)
    f = kit.upstream.frames[0]
    assert f.pw == "up-pw" and f.flag == 5 and f.qn and len(f.qn) == 17
    assert {f.mn for f in kit.upstream.frames} == {
        "PROV0000000000000000001",
        *[s.mn for s in STATIONS[1:]],
    }

    # the upstream goes away; frames keep arriving and wait in the backlog
    await kit.upstream.down()
    second = {s.mn: [upload(s.mn, i) for i in range(10, 25)] for s in STATIONS}
    await send(worker.bound_port, second)
    assert await backlog(kit.db_conn) == 45
    # envgrid's forwarder restarts meanwhile; then the upstream returns
    stop.set()
    await asyncio.wait_for(task, 10)
    await kit.forwarder()
    await kit.upstream.up()
    await kit.upstream.wait_for(75)
    await drained(kit.db_conn)
    got = by_station(kit.upstream.frames)
    for s in STATIONS:
        remote = mapped.get(s.mn, s.mn)
        expected = [(_T0 + timedelta(seconds=i)).strftime("%Y%m%d%H%M%S") for i in range(25)]
        assert got[remote] == expected, remote  # each once, in order
    assert len(kit.upstream.frames) == 75  # no ack was lost: no duplicate
    status = await status_when(kit.db_conn, lambda s: s["acked"] >= 75)
    assert status["backlog"] == 0 and status["sent"] >= 75 and status["connected"]
    assert status["last_ack_at"] is not None and status["oldest_unsent"] is None


async def test_lost_acks_resets_and_encryption(kit: ForwardKit) -> None:
    await kit.register(*STATIONS[:2])
    key = "0123456789abcdef"
    async with UpstreamServer(sm4_key=parse_key(key), drop_acks=3, ack_delay_s=0.01) as up:
        spec = TargetSpec(
            "nation",
            "127.0.0.1",
            up.port,
            password="pw",
            edition="2025",
            sm4_key=key,
            stations=(STATIONS[0].mn,),
        )
        await add_target(kit.db_conn, spec, kit.box, created_by="test")
        worker = await kit.start_worker()
        metrics = ForwardMetrics()
        await kit.forwarder(metrics=metrics)
        # three acks are lost: exactly those three frames come twice
        frames = [upload(STATIONS[0].mn, i) for i in range(8)]
        late = upload(STATIONS[0].mn, 0, age=timedelta(hours=3))
        # re-sent by the station (HJ 212-2025 RF=1): late although its DataTime is recent
        backfill = upload(STATIONS[0].mn, 50, edition="2025", backfill=True)
        await send(
            worker.bound_port,
            {
                STATIONS[0].mn: [*frames, late, backfill],
                STATIONS[1].mn: [upload(STATIONS[1].mn, 0)],
            },
        )
        await drained(kit.db_conn)
        assert up.acks_dropped == 3 and not up.errors
        times = [f.data_time for f in up.frames]
        assert len(times) == 10 + 3 and len(set(times)) == 10  # station 1 is not selected
        assert all(
            f.mn == STATIONS[0].mn and f.flag is not None and f.flag >> 2 == 2 for f in up.frames
        )
        rf = {f.data_time: f.head.get("RF") for f in up.frames}
        assert rf[(_T0 - timedelta(hours=3)).strftime("%Y%m%d%H%M%S")] == "1"
        assert rf[(_T0 + timedelta(seconds=1)).strftime("%Y%m%d%H%M%S")] is None
        assert rf[(_T0 + timedelta(seconds=50)).strftime("%Y%m%d%H%M%S")] == "1"

        # the upstream resets the connection in the middle of a burst
        up.frames.clear()
        up.reset_after = 5
        more = [upload(STATIONS[0].mn, i) for i in range(100, 130)]
        await send(worker.bound_port, {STATIONS[0].mn: more})
        await drained(kit.db_conn)
        assert up.connections >= 2
        assert {f.data_time for f in up.frames} >= {
            (_T0 + timedelta(seconds=i)).strftime("%Y%m%d%H%M%S") for i in range(100, 130)
        }
    status = await status_when(kit.db_conn, lambda s: s["resent"] >= 3 and s["errors"] > 0)
    assert status["backlog"] == 0 and status["last_error"]
    sample = metrics.registry.get_sample_value
    assert sample("envgrid_forward_resent_total", {"target": "nation"}) >= 3
    assert sample("envgrid_forward_acked_total", {"target": "nation"}) >= 40
    assert sample("envgrid_forward_errors_total", {"target": "nation"}) >= 1
    async with asyncio.timeout(5):  # the gauges follow every 0.1 s
        while sample("envgrid_forward_backlog", {"target": "nation"}) != 0:
            await asyncio.sleep(0.05)
    assert sample("envgrid_db_pool_max", {"role": "forward"}) == 4  # its pool, sampled too


async def test_a_frame_gone_from_the_ledger_is_dropped_and_counted(kit: ForwardKit) -> None:
    await kit.register(STATIONS[0])
    spec = TargetSpec("prov", "127.0.0.1", kit.upstream.port)
    target = await add_target(kit.db_conn, spec, kit.box, created_by="test")
    await kit.db_conn.execute(
        "INSERT INTO forward_outbox (target_id, station_id, data_time, cn, pno, digest)"
        " SELECT $1, id, now(), 2051, 0, 42 FROM stations",  # no such ledger row
        target,
    )
    await kit.forwarder()
    await drained(kit.db_conn)
    status = await status_when(kit.db_conn, lambda s: s["expired"] >= 1)
    assert status["expired"] == 1 and kit.upstream.frames == []


async def test_a_new_target_starts_at_once_and_a_broken_one_alone_is_skipped(
    kit: ForwardKit,
) -> None:
    await kit.register(STATIONS[0])
    worker = await kit.start_worker()
    await kit.forwarder(reload_s=600)  # only the NOTIFY of `forward add` can start it in time
    await kit.db_conn.execute(  # sealed with another key file: cannot be opened
        "INSERT INTO forward_targets (name, host, port, password)"
        " VALUES ('broken', '127.0.0.1', $1, 'enc:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')",
        kit.upstream.port,
    )
    await add_target(
        kit.db_conn, TargetSpec("prov", "127.0.0.1", kit.upstream.port), kit.box, created_by="t"
    )
    await send(worker.bound_port, {STATIONS[0].mn: [upload(STATIONS[0].mn, 1)]})
    await kit.upstream.wait_for(1, within=5)
    await asyncio.sleep(0.3)
    assert len(kit.upstream.frames) == 1  # from "prov" only
    rows = {r["name"]: r for r in await target_status(kit.db_conn)}
    assert rows["broken"]["backlog"] == 1 and not rows["broken"]["connected"]


async def test_an_upstream_answering_with_its_own_mn_is_understood_by_the_qn(
    kit: ForwardKit,
) -> None:
    await kit.register(STATIONS[0])
    kit.upstream.answer_mn = "PLATFORM-OWN-MN"
    await add_target(
        kit.db_conn, TargetSpec("prov", "127.0.0.1", kit.upstream.port), kit.box, created_by="t"
    )
    worker = await kit.start_worker()
    await kit.forwarder()
    await send(worker.bound_port, {STATIONS[0].mn: [upload(STATIONS[0].mn, i) for i in range(5)]})
    await drained(kit.db_conn)
    assert len(kit.upstream.frames) == 5  # acked at once: nothing resent


async def test_since_forwards_what_was_stored_before_the_target(kit: ForwardKit) -> None:
    await kit.register(STATIONS[0])
    worker = await kit.start_worker()
    old = [upload(STATIONS[0].mn, i, age=timedelta(days=2)) for i in range(3)]
    recent = [upload(STATIONS[0].mn, i) for i in range(4)]
    await send(worker.bound_port, {STATIONS[0].mn: [*old, *recent]})
    spec = TargetSpec("prov", "127.0.0.1", kit.upstream.port)
    since = _T0 - timedelta(hours=1)
    await add_target(kit.db_conn, spec, kit.box, created_by="t", since=since)
    await kit.forwarder()
    await kit.upstream.wait_for(4)
    await drained(kit.db_conn)
    assert sorted(f.data_time for f in kit.upstream.frames) == [
        (_T0 + timedelta(seconds=i)).strftime("%Y%m%d%H%M%S") for i in range(4)
    ]


async def test_frames_in_a_chunk_created_while_the_forwarder_reads_are_all_forwarded(
    kit: ForwardKit,
) -> None:
    """Each frame's DataTime lies in a 4-hour range of its own: on TimescaleDB its ledger
    row creates a chunk.  A read planned before that frame's transaction committed but run
    after it sees the outbox row without the ledger row; the forwarder reads such a frame
    again rather than dropping it from the backlog (issue: two TimescaleDB-only failures)."""
    await kit.register(STATIONS[0])
    mn = STATIONS[0].mn
    await add_target(
        kit.db_conn, TargetSpec("prov", "127.0.0.1", kit.upstream.port), kit.box, created_by="t"
    )
    worker = await kit.start_worker(batch_ms=1)
    await kit.forwarder()
    n = 80
    client = await StationClient.open(worker.bound_port)
    for i in range(n):  # one transaction, and one new chunk, a frame
        await client.send(upload(mn, 0, age=timedelta(hours=4 * i)))
        await client.expect(i + 1)
    await client.close()
    await drained(kit.db_conn, within=20)
    status = await status_when(kit.db_conn, lambda s: s["acked"] + s["expired"] >= n)
    assert status["expired"] == 0
    assert len({f.data_time for f in kit.upstream.frames}) == n
