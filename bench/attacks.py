"""The ``hostile`` fault scenario: legitimate stations' latency while attackers dribble
bytes, flood connections, send garbage and frames under stolen MNs (see
:mod:`bench.faults` for how frames are accounted)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
from typing import Any

from simulators import run

from . import load
from .faults import Load, account, fleet_config
from .server import ServerUnderTest, server_settings

__all__ = ["hostile"]


def hostile(*, attack_s: float = 40.0, **options: Any) -> dict[str, Any]:
    """Legitimate stations' ack latency while others dribble bytes (slowloris), flood
    connections from one address, send binary garbage, giant lengths and frames
    claiming other stations' MNs with wrong passwords."""
    plan = Load.of(options, stations=3000)
    stations, interval = plan.stations, plan.interval
    settings = {
        **server_settings(plan.workers, plan.overrides),
        "ingest.max_connections_per_ip": 200,
        "ingest.frame_timeout_s": 20.0,
        "ingest.first_frame_timeout_s": 30.0,
    }
    with ServerUnderTest(settings=settings) as server:
        asyncio.run(load.register(server, stations))
        # legitimate stations come from many addresses (each ≤ 100 stations), attackers
        # from their own: the per-address limit must stop only the attackers
        spread = {
            "source_addresses": tuple(f"127.0.0.{10 + i}" for i in range(-(-stations // 100))),
            "per_address": 100,
            "station_detail": False,
            "time_scale": 3.0,
        }
        baseline = fleet_config(server, stations, interval, 20 + 30.0, **spread)
        base = run(baseline)
        attacked = fleet_config(
            server, stations, interval, 20 + attack_s, seed=2, **{**spread, "station_detail": True}
        )
        asyncio.run(load.register(server, stations, seed=2))
        running = load.Background(lambda: run(attacked))
        time.sleep(10)
        plan.progress("hostile: attacking")
        attack = asyncio.run(_attack(server.port, attack_s - 5, stations))
        result = running.result()
        counts = account(server, result)  # the attacked run's stations (seed 2) only
        rejected = {
            line
            for line in server.metrics().splitlines()
            if line.startswith("envgrid_frame_errors_total{")
        }
    return plan.result(
        "hostile",
        "slowloris, connection flood, garbage, giant lengths, stolen MNs",
        counts,
        attack=attack,
        ack_latency_ms_baseline=base.to_json()["totals"]["ack_latency"],
        ack_latency_ms_under_attack=result.to_json()["totals"]["ack_latency"],
        legit_frames=result.totals["frames"],
        server_counted=sorted(rejected),
        floor={"p99_ms": 1000},
    )


async def _attack(port: int, seconds: float, stations: int) -> dict[str, int]:
    from protocol import encode_upload
    from simulators import station_identities

    victims = station_identities(20, seed=2)
    counts = {
        "slowloris": 0,
        "flood_connects": 0,
        "garbage_bytes": 0,
        "giant": 0,
        "stolen_mn_frames": 0,
    }
    stop = time.monotonic() + seconds
    loop = asyncio.get_running_loop()

    async def slowloris() -> None:
        writers = []
        for _ in range(500):
            try:
                _, w = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=("127.0.0.66", 0)
                )
            except OSError:
                continue
            writers.append(w)
            counts["slowloris"] += 1
        while time.monotonic() < stop:
            for w in writers:
                if not w.is_closing():
                    w.write(b"#")
            await asyncio.sleep(2.0)
        for w in writers:
            w.close()

    async def flood() -> None:
        socks = []
        while time.monotonic() < stop:
            for _ in range(50):
                try:
                    s = socket.socket()
                    s.setblocking(False)
                    s.bind(("127.0.0.77", 0))
                    await loop.sock_connect(s, ("127.0.0.1", port))
                    socks.append(s)
                    counts["flood_connects"] += 1
                except OSError:
                    s.close()
            await asyncio.sleep(0.5)
            while len(socks) > 2000:
                socks.pop(0).close()
        for s in socks:
            s.close()

    async def garbage() -> None:
        rng = random.Random(7)
        while time.monotonic() < stop:
            try:
                _, w = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=("127.0.0.88", 0)
                )
            except OSError:
                await asyncio.sleep(0.5)
                continue
            blob = rng.randbytes(256 * 1024)
            w.write(blob + b"##9999" + b"X" * 20_000)
            counts["garbage_bytes"] += len(blob)
            counts["giant"] += 1
            for i, v in enumerate(victims):
                w.write(
                    encode_upload(
                        2011,
                        st="22",
                        mn=v.mn,
                        pw="000000",
                        qn=f"20261121000000{i:03d}",
                        data_time="20261121000000",
                        values={"a21026": {"Rtd": "999"}},
                    )
                )
                counts["stolen_mn_frames"] += 1
            with contextlib.suppress(OSError):
                await w.drain()
            await asyncio.sleep(1.0)
            w.close()

    await asyncio.gather(slowloris(), flood(), garbage())
    return counts
