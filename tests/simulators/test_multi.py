"""Several processes and source addresses; planning the split."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

import pytest

from simulators import ConfigError, FleetConfig, plan, run, station_identities

from .fake_platform import FakePlatform


def test_plan_splits_stations_frames_and_rates() -> None:
    config = FleetConfig(stations=50_000, max_frames=1001, rate=900.0, duration=5)
    children = plan(config)
    assert [c.stations for c in children] == [12_500] * 4
    assert [c.first_index for c in children] == [0, 12_500, 25_000, 37_500]
    assert sum(c.max_frames or 0 for c in children) == 1001
    assert sum(c.rate or 0 for c in children) == pytest.approx(900.0)
    assert children[0].source_addresses == ("127.0.0.1", "127.0.0.2")
    assert len({c.clock_anchor for c in children}) == 1
    # addresses are spread over the whole run, not per process
    assert children[0].address_for(0) == "127.0.0.1"
    assert children[1].address_for(24_999) == "127.0.0.1"
    assert children[2].address_for(25_000) == "127.0.0.2"
    assert children[3].address_for(49_999) == "127.0.0.2"


def test_plan_refuses_what_cannot_fit() -> None:
    with pytest.raises(ConfigError, match="ephemeral"):
        plan(FleetConfig(stations=40_000, source_addresses=("127.0.0.1",)))
    with pytest.raises(ConfigError, match="open-file limit"):
        plan(FleetConfig(stations=40_000, processes=1, source_addresses=("127.0.0.1", "127.0.0.2")))


async def test_two_thousand_stations_over_two_processes_and_two_addresses() -> None:
    async with FakePlatform() as platform:
        config = FleetConfig(
            port=platform.port,
            stations=2000,
            processes=2,
            source_addresses=("127.0.0.1", "127.0.0.2"),
            st=("22", "31", "32"),
            edition="mix",
            time_scale=15.0,
            duration=3.0,
            drain=3.0,
            status_every=0,
            connect_rate=2000.0,
        )
        result = await asyncio.to_thread(run, config)
        await platform.wait_for(lambda: not platform.open, timeout=5)
    assert result.errors == []
    assert result.processes == 2
    conns = result.totals["connections"]
    assert conns["opened"] == 2000 == platform.connections and conns["up_at_end"] == 0
    assert Counter(peer[0] for peer in platform.peers if peer) == {
        "127.0.0.1": 1000,
        "127.0.0.2": 1000,
    }
    expected = {i.mn for i in station_identities(2000, st=("22", "31", "32"), edition="mix")}
    assert set(result.stations) == expected
    frames = result.frames
    assert frames["sent"] >= 2000 and frames["sent"] == frames["acked"] == platform.acks_sent
    assert result.duration_s < 3.0 + 3.0 + 1.0
    # every ack is also filed by when its frame was sent (the bench takes a window of
    # them), and each process reports its own loop lag
    assert result.latency_by_time.window().count == result.latency.count == frames["acked"]
    assert len(result.loop_lag) == 2 and all(lag.window().count > 0 for lag in result.loop_lag)
    totals = result.to_json()["totals"]
    assert len(totals["loop_lag"]) == 2 and totals["ack_latency"]["p99_9_ms"] > 0


@pytest.mark.parametrize("processes", [1, 2])
async def test_a_stop_event_ends_the_run_before_its_duration(processes: int) -> None:
    """The bench holds connections and then ends the fleet from its own thread."""
    async with FakePlatform() as platform:
        config = FleetConfig(
            port=platform.port,
            stations=4,
            processes=processes,
            realtime=False,
            status_every=0,
            duration=120.0,
            drain=1.0,
            station_detail=False,
        )
        stop = threading.Event()
        running = asyncio.ensure_future(asyncio.to_thread(run, config, stop=stop))
        await platform.wait_for(lambda: platform.connections == 4, timeout=30)
        stop.set()
        result = await asyncio.wait_for(running, 30)
    assert result.errors == []
    assert result.processes == processes
    assert result.totals["connections"]["opened"] == 4
    assert result.duration_s < 60
