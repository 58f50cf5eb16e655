"""Benchmark of forwarding to an upstream platform: ``envgrid bench forward``.

What it does, on a private database (``--dsn`` server, or a throwaway embedded cluster):

1. ``--stations`` stations; one forwarding target (HJ 212-2017) pointing at a simulated
   upstream (:class:`simulators.upstream.UpstreamServer`, acking every frame, in this
   process — its decoding shares the one core with the forwarder, so the figure is a
   lower bound);
2. while the upstream is down, ``--frames`` minute-data frames are stored through the
   ingest writer (:class:`ingest.writer.BatchWriter`, the production path that fills the
   backlog), then aged by three hours (the outage: ``enqueued_at`` moved back, so they
   are backlog, not live, when the upstream returns);
3. the upstream comes back: the backlog drains while ``--live-rate`` new frames/s keep
   arriving (live forwarding); halfway through the drain the forwarder is stopped and
   started again (an envgrid restart) — the backlog must survive it.

Figures: ``drain_frames_per_s`` (backlog frames acked ÷ drain time, restart included)
[target ≥ 2,000], live latency p50/p99 (stored → at the upstream) during the drain,
``lost`` (must be 0) and ``duplicates`` (frames the upstream got twice: only where an
ack was lost — here, the window in flight at the restart).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from bench.db import private_database
from forward.link import LinkTuning
from forward.repo import add_target
from forward.service import ForwardService
from forward.targets import TargetSpec
from ingest.writer import BatchWriter, Inbound
from protocol import Decoder, Frame, encode_upload
from simulators.upstream import UpstreamServer
from store.db import connect
from store.engine import ENGINE_CHOICES, EngineChoice, detect_engine
from store.partitions import PartitionCache
from store.secretbox import SecretBox

__all__ = ["main", "measure"]

TUNING: Final = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
TARGET_FRAMES_PER_S: Final = 2000
_BATCH: Final = 2000


def _frames(mns: list[str], start: datetime, count: int) -> list[Frame]:
    decoder = Decoder()
    out: list[Frame] = []
    for i in range(count):
        mn = mns[i % len(mns)]
        t = start + timedelta(minutes=i // len(mns))
        raw = encode_upload(
            2051,
            st="22",
            mn=mn,
            pw="123456",
            qn=t.strftime("%Y%m%d%H%M%S000"),
            data_time=t.strftime("%Y%m%d%H%M%S"),
            values={c: {"Avg": 10.0 + i % 7, "Flag": "N"} for c in ("a34004", "a34002", "a21026")},
        )
        (frame,) = decoder.feed(raw)
        assert isinstance(frame, Frame)
        out.append(frame)
    return out


def _inbound(frames: list[Frame], ids: dict[str, int]) -> list[Inbound]:
    now = datetime.now(UTC)
    out = []
    for f in frames:
        assert f.mn is not None and f.data_time is not None
        ts = datetime.strptime(f.data_time, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        out.append(Inbound(f, ids[f.mn], f.mn, ts, now, 0.0))
    return out


async def measure(
    dsn: str | None,
    *,
    stations: int = 500,
    frames: int = 50_000,
    live_rate: float = 100.0,
    engine: EngineChoice = "auto",
    bindir: Path | None = None,
) -> dict[str, Any]:
    async with private_database(
        dsn, label="forward", tuning=TUNING, engine=engine, bindir=bindir
    ) as db:
        conn = await connect(db)
        info = await detect_engine(conn)
        mns = [f"FWDBENCH{i:06d}" for i in range(stations)]
        await conn.execute(
            "INSERT INTO stations (mn, password, st, approved_at)"
            " SELECT m, '123456', '22', now() FROM unnest($1::text[]) m",
            mns,
        )
        ids = {r["mn"]: r["id"] for r in await conn.fetch("SELECT id, mn FROM stations")}
        factor_ids = {r["code"]: r["id"] for r in await conn.fetch("SELECT code, id FROM factors")}
        upstream = UpstreamServer()
        await upstream.up()
        await upstream.down()  # the outage: the port is known, nothing listens
        box = SecretBox(b"\x01" * 32)
        await add_target(
            conn, TargetSpec("bench", "127.0.0.1", upstream.port), box, created_by="bench"
        )
        writer = BatchWriter(
            db,
            info.engine,
            worker=0,
            factor_ids=factor_ids,
            partitions=PartitionCache(info.engine),
            publish=False,
        )
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=1)
        backlog = _frames(mns, start, frames)
        t0 = time.perf_counter()
        for i in range(0, len(backlog), _BATCH):
            await writer.write(_inbound(backlog[i : i + _BATCH], ids))
        store_s = time.perf_counter() - t0
        queued = await conn.fetchval("SELECT count(*) FROM forward_outbox")
        # the outage lasted hours: the backlog was stored long before the upstream returns
        await conn.execute("UPDATE forward_outbox SET enqueued_at = enqueued_at - interval '3h'")

        # the upstream returns; live frames keep coming; the forwarder restarts halfway
        live_mns = mns[: max(1, stations // 10)]
        live_written: dict[tuple[str, str], float] = {}
        arrived: dict[tuple[str, str], float] = {}
        stop_live = asyncio.Event()

        async def live() -> None:
            t = datetime.now(UTC).replace(microsecond=0)
            n = 0
            while not stop_live.is_set():
                batch = _frames(live_mns, t + timedelta(minutes=n), len(live_mns))
                n += 1
                await writer.write(_inbound(batch, ids))
                now = time.perf_counter()
                for f in batch:
                    live_written[(f.mn or "", f.data_time or "")] = now
                await asyncio.sleep(len(live_mns) / live_rate)

        def seen() -> None:
            now = time.perf_counter()
            for f in upstream.frames[len(arrived_list) :]:
                key = (f.mn or "", f.data_time or "")
                arrived.setdefault(key, now)
                arrived_list.append(key)

        arrived_list: list[tuple[str, str]] = []
        await upstream.up()
        t1 = time.perf_counter()
        restarts = 0
        live_task = asyncio.create_task(live())
        service = ForwardService(db, box, LinkTuning(), reload_s=1.0)
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        backlog_keys = {(f.mn or "", f.data_time or "") for f in backlog}
        while True:
            await asyncio.sleep(0.05)
            seen()
            done = sum(1 for k in arrived if k in backlog_keys)
            if restarts == 0 and done >= len(backlog_keys) // 2:
                stop.set()
                await task
                restarts += 1
                stop = asyncio.Event()
                service = ForwardService(db, box, LinkTuning(), reload_s=1.0)
                task = asyncio.create_task(service.run(stop))
            if done >= len(backlog_keys):
                break
            if time.perf_counter() - t1 > 120:
                break
        drain_s = time.perf_counter() - t1
        stop_live.set()
        await live_task
        await asyncio.sleep(1.0)
        seen()
        stop.set()
        await task
        await upstream.down()
        remaining = await conn.fetchval("SELECT count(*) FROM forward_outbox")
        await writer.close()
        await conn.close()
    lost = len(backlog_keys - arrived.keys()) + len(live_written.keys() - arrived.keys())
    latencies = sorted(arrived[k] - w for k, w in live_written.items() if k in arrived)
    drained = sum(1 for k in arrived if k in backlog_keys)
    rate = drained / drain_s if drain_s else 0.0
    return {
        "engine": info.engine.value,
        "stations": stations,
        "backlog_frames": queued,
        "store_backlog_s": round(store_s, 2),
        "drain_s": round(drain_s, 2),
        "drain_frames_per_s": round(rate),
        "target_frames_per_s": TARGET_FRAMES_PER_S,
        "meets_target": rate >= TARGET_FRAMES_PER_S,
        "forwarder_restarts": restarts,
        "live_frames": len(live_written),
        "live_latency_p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "live_latency_p99_s": (
            round(latencies[int(0.99 * (len(latencies) - 1))], 3) if latencies else None
        ),
        "lost": lost,
        "duplicates": len(arrived_list) - len(arrived),
        "left_in_backlog": remaining,
    }


def report(result: dict[str, Any]) -> str:
    return (
        f"forward: {result['backlog_frames']} backlog frames drained in {result['drain_s']} s"
        f" = {result['drain_frames_per_s']} frames/s (target ≥ {TARGET_FRAMES_PER_S}) with"
        f" {result['forwarder_restarts']} forwarder restart; live p50"
        f" {result['live_latency_p50_s']} s, p99 {result['live_latency_p99_s']} s;"
        f" lost {result['lost']}, duplicates {result['duplicates']}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="envgrid bench forward", description=__doc__)
    parser.add_argument("--dsn", help="PostgreSQL server to create the benchmark database on")
    parser.add_argument("--stations", type=int, default=500)
    parser.add_argument("--frames", type=int, default=50_000, help="backlog frames")
    parser.add_argument("--live-rate", type=float, default=100.0, help="live frames/s")
    parser.add_argument("--engine", choices=ENGINE_CHOICES, default="auto")
    parser.add_argument("--bindir", type=Path, help="server binaries of the embedded cluster")
    parser.add_argument("--json", metavar="OUT", help="also write the result as JSON")
    args = parser.parse_args(argv)
    result = asyncio.run(
        measure(
            args.dsn,
            stations=args.stations,
            frames=args.frames,
            live_rate=args.live_rate,
            engine=args.engine,
            bindir=args.bindir,
        )
    )
    print(report(result))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2, ensure_ascii=False)
    return 0 if result["lost"] == 0 else 1
