"""Loopback integration: simulated stations against the fake platform."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from typing import Any

import pytest

from protocol import ErrorCode, Frame, Reply, parse_time
from simulators import FleetConfig, FleetResult, profile_for, run_fleet
from simulators.clock import parse_start_time, zone

from .fake_platform import FakePlatform

TZ = zone("Asia/Shanghai")
START = parse_start_time("2024-05-01T08:58:00", TZ)


def config(platform: FakePlatform, **kw: Any) -> FleetConfig:
    base: dict[str, Any] = {
        "port": platform.port,
        "stations": 1,
        "time_scale": 60.0,
        "start_time": START,
        "duration": 1.5,
        "drain": 2.0,
        "ack_timeout": 1.0,
        "reconnect_min": 0.05,
        "reconnect_max": 0.2,
        "uvloop": False,
        "phase": 2.0,
    }
    base.update(kw)
    return FleetConfig(**base)


async def simulate(platform: FakePlatform, **kw: Any) -> FleetResult:
    return await run_fleet(config(platform, **kw))


def station(result: FleetResult, index: int = 0) -> dict[str, Any]:
    return next(s for s in result.stations.values() if s["index"] == index)


@pytest.mark.parametrize("edition", ["2017", "2005"])
async def test_every_unique_frame_is_acked_exactly_once(edition: str) -> None:
    async with FakePlatform() as platform:
        result = await simulate(
            platform,
            stations=5,
            st=("22", "31", "32", "21", "23"),
            edition=edition,
            time_scale=120.0,
            min_interval=1,
            hourly=True,
            duration=2.0,
        )
    frames = result.frames
    assert frames["sent"] > 40
    assert frames["sent"] == frames["acked"] == platform.acks_sent
    assert frames["retransmissions"] == frames["failed"] == frames["unacked_at_end"] == 0
    assert platform.errors == []
    received = Counter((f.mn, f.cn) for f in platform.uploads())
    for mn, s in result.stations.items():
        assert s["edition"] == edition
        for cn, row in s["cn"].items():
            assert row["sent"] == row["acked"] == received[(mn, int(cn))], (mn, cn)
        assert s["cn"]["2081"]["sent"] == 1
        assert set(s["cn"]) >= {"2011", "2021", "2051", "2061", "2081"}
        profile = profile_for(s["st"])
        rtd = s["cn"]["2011"]["sent"]
        if s["st"] != "23":
            # values are counted under 2017 codes, also for 2005 stations
            assert set(s["values"]) == {f.code for f in profile.factors}
            for code in s["values"]:
                assert s["values"][code]["2011"] == {"sent": rtd, "acked": rtd}
        first = next(f for f in platform.frames if f.mn == mn)
        assert first.cn == 2081
    # what the platform decoded carries the 2017 codes (2005 legacy codes map back)
    for f in platform.uploads(cn=2011):
        st = f.st or ""
        expected = {x.code for x in profile_for(st).factors}
        assert set(f.values) == expected
    hours = platform.uploads(cn=2061)
    assert len(hours) == 5 and {f.data_time for f in hours} == {"20240501080000"}
    minutes = platform.uploads(cn=2051)
    assert minutes and all(f.data_time and f.data_time.endswith("00") for f in minutes)
    if edition == "2005":
        assert all(f.flag == 1 and f.qn for f in platform.uploads())


async def test_retransmits_three_times_then_gives_up() -> None:
    async with FakePlatform(drop=lambda frame, attempt: True) as platform:
        result = await simulate(
            platform,
            max_frames=2,
            duration=None,
            ack_timeout=0.2,
            retries=3,
            status_every=0,
            drain=3.0,
        )
    frames = result.frames
    assert (frames["sent"], frames["acked"], frames["retransmissions"], frames["failed"]) == (
        2,
        0,
        6,
        2,
    )
    assert set(platform.attempts.values()) == {4}
    for qn in {f.qn for f in platform.uploads()}:
        times = [t for t, f in zip(platform.times, platform.frames, strict=True) if f.qn == qn]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert len(gaps) == 3 and all(0.15 < g < 0.5 for g in gaps), gaps
    s = station(result)
    assert sum(row["failed"] for row in s["cn"].values()) == 2


async def test_a_lost_ack_is_retransmitted_and_acked_once() -> None:
    async with FakePlatform(drop=lambda frame, attempt: attempt == 0) as platform:
        result = await simulate(platform, stations=2, ack_timeout=0.2, duration=1.0)
    frames = result.frames
    assert frames["sent"] == frames["acked"] == frames["retransmissions"] > 0
    assert frames["failed"] == 0
    assert set(platform.attempts.values()) == {2}


async def test_window_limits_unacked_frames() -> None:
    async with FakePlatform(drop=lambda frame, attempt: True) as platform:
        result = await simulate(
            platform, pace="fast", window=4, ack_timeout=30.0, duration=0.5, drain=0.0
        )
    assert len({f.qn for f in platform.uploads()}) == 4
    assert result.frames["sent"] == 4 and result.frames["unacked_at_end"] == 4


async def test_fast_pace_with_a_rate_and_an_exact_frame_budget() -> None:
    async with FakePlatform() as platform:
        result = await simulate(platform, stations=5, pace="fast", rate=200.0, duration=1.0)
    assert 120 <= result.frames["sent"] <= 260
    assert result.frames["sent"] == result.frames["acked"]
    # DataTimes advance per station: every frame is unique for the server's dedup
    keys = [(f.mn, f.cn, f.data_time) for f in platform.uploads() if f.cn != 2081]
    assert len(keys) == len(set(keys))
    async with FakePlatform() as platform:
        result = await simulate(platform, stations=5, pace="fast", max_frames=37, duration=None)
    assert result.frames["sent"] == result.frames["acked"] == 37 == len(platform.uploads())


async def test_unreachable_server_stops_by_itself() -> None:
    platform = FakePlatform()
    await platform.start()
    port = platform.port
    await platform.close()
    result = await run_fleet(
        FleetConfig(
            port=port, stations=3, duration=0.6, drain=0.2, reconnect_min=0.05, uvloop=False
        )
    )
    assert result.totals["connections"]["opened"] == 0
    assert result.totals["connections"]["connect_failures"] >= 3
    assert result.frames["sent"] == 0


# -- downlink commands --------------------------------------------------------------------


class Commander:
    """Send commands to the one simulated station while it runs."""

    def __init__(self, platform: FakePlatform, edition: str) -> None:
        self.platform = platform
        self.edition = edition
        self.mn = ""
        self.n = 0

    async def ready(self) -> None:
        await self.platform.wait_for(lambda: bool(self.platform.of(2081)))
        self.mn = self.platform.of(2081)[0].mn or ""

    async def send(
        self, cn: int, cp: dict[str, Any] | None = None, pw: str = "123456", until: int = 9012
    ) -> list[Frame]:
        self.n += 1
        qn = f"20240501090000{self.n:03d}"
        start = len(self.platform.frames)

        def answered() -> list[Frame]:
            return [
                f
                for f in self.platform.frames[start:]
                if (isinstance(f, Reply) and f.request_qn == qn) or f.effective_qn == qn
            ]

        self.platform.command(self.mn, cn, cp, qn=qn, pw=pw, edition=self.edition)
        await self.platform.wait_for(lambda: any(f.cn == until for f in answered()), timeout=5)
        return answered()


async def run_with_commands(
    platform: FakePlatform, edition: str, script: Any, **kw: Any
) -> FleetResult:
    commander = Commander(platform, edition)
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_fleet(config(platform, edition=edition, duration=30.0, drain=1.0, **kw), stop=stop)
    )
    try:
        await commander.ready()
        await script(commander)
    finally:
        stop.set()
        result = await task
    return result


async def test_downlink_commands_2017() -> None:
    seen: dict[str, list[Frame]] = {}

    async def script(c: Commander) -> None:
        seen["1061"] = await c.send(1061)
        seen["history"] = await c.send(
            2061, {"BeginTime": "20240501060000", "EndTime": "20240501070000"}
        )
        seen["1062"] = await c.send(1062, {"RtdInterval": 60})
        mark = len(c.platform.frames)
        await c.platform.wait_for(lambda: sum(f.cn == 2011 for f in c.platform.frames[mark:]) >= 2)
        seen["after_1062"] = [f for f in c.platform.frames[mark:] if f.cn == 2011]
        seen["badpw"] = await c.send(1061, pw="000000", until=9011)
        seen["unknown"] = await c.send(1999, until=9011)
        seen["2012"] = await c.send(2012, until=9013)
        seen["1072"] = await c.send(1072, {"NewPW": "654321"})
        mark = len(c.platform.frames)
        await c.platform.wait_for(lambda: any(f.cn == 2021 for f in c.platform.frames[mark:]))
        seen["after_pw"] = c.platform.frames[mark:]
        seen["1012"] = await c.send(1012, {"SystemTime": "20240501120000"}, pw="654321")
        mark = len(c.platform.frames)
        await c.platform.wait_for(lambda: any(f.cn == 2021 for f in c.platform.frames[mark:]))
        seen["after_1012"] = c.platform.frames[mark:]
        seen["3019"] = await c.send(3019, {"PolId": "a34004"}, pw="654321")

    async with FakePlatform() as platform:
        result = await run_with_commands(platform, "2017", script)

    answer, value, done = seen["1061"]
    assert isinstance(answer, Reply) and answer.cn == 9011 and answer.qn_rtn == 1
    assert value.cn == 1061 and value.fields["RtdInterval"] == "30" and value.flag == 4
    assert isinstance(done, Reply) and done.cn == 9012 and done.exe_rtn == 1

    history = seen["history"]
    assert [f.cn for f in history if isinstance(f, Reply)] == [9011, 9012]
    data = platform.of(2061)
    assert [f.data_time for f in data] == ["20240501060000", "20240501070000"]
    assert all(f.flag == 5 for f in data)  # acked one by one, as in [S17] C.48
    assert set(data[0].values["a34004"]) == {"Min", "Avg", "Max", "Flag"}

    after = seen["after_1062"]
    times = [parse_time(f.data_time) for f in after]
    assert all(t is not None and t.second == 0 and t.minute % 1 == 0 for t in times)
    assert (times[1] - times[0]).total_seconds() == 60  # type: ignore[operator]

    [bad] = seen["badpw"]
    assert isinstance(bad, Reply) and bad.qn_rtn == 3
    [unknown] = seen["unknown"]
    assert isinstance(unknown, Reply) and unknown.qn_rtn == 8
    [notify] = seen["2012"]
    assert notify.cn == 9013
    assert not [f for f in seen["after_pw"] if f.cn == 2011]  # real-time upload stopped
    assert all(f.pw == "654321" for f in seen["after_pw"])
    status = next(f for f in seen["after_1012"] if f.cn == 2021)
    assert (status.data_time or "") >= "20240501120000"
    sn = next(f for f in seen["3019"] if f.cn == 3019)
    assert len(sn.fields.get("a34004-SN", "") or sn.values["a34004"]["SN"]) == 24

    s = station(result)
    assert s["commands"] == {
        "1012": 1,
        "1061": 2,
        "1062": 1,
        "1072": 1,
        "1999": 1,
        "2012": 1,
        "2061": 1,
        "3019": 1,
    }
    assert s["history"]["2061"] == {
        "sent": 2,
        "acked": 2,
        "retransmissions": 0,
        "failed": 0,
        "dropped": 0,
    }
    assert result.frames["sent"] == result.frames["acked"]


async def test_downlink_commands_2005() -> None:
    seen: dict[str, list[Frame]] = {}

    async def script(c: Commander) -> None:
        seen["1011"] = await c.send(1011)
        seen["history"] = await c.send(
            2051, {"BeginTime": "20240501080000", "EndTime": "20240501082000"}
        )
        seen["empty"] = await c.send(
            2031, {"BeginTime": "20240601000000", "EndTime": "20240601000000"}
        )

    async with FakePlatform() as platform:
        result = await run_with_commands(platform, "2005", script, min_interval=10)

    answer, value, done = seen["1011"]
    assert isinstance(answer, Reply) and answer.edition == "2005" and answer.qn is None
    assert answer.request_qn == "20240501090000001" and answer.qn_rtn == 1
    assert value.cn == 1011 and value.fields["QN"] == "20240501090000001"
    assert parse_time(value.fields["SystemTime"]) is not None
    assert isinstance(done, Reply) and done.exe_rtn == 1
    data = platform.of(2051)
    assert [f.data_time for f in data] == ["20240501080000", "20240501081000", "20240501082000"]
    assert all(f.ack_requested and f.edition == "2005" for f in data)
    assert "a34004" in data[0].values
    [_, empty] = seen["empty"]
    assert isinstance(empty, Reply) and empty.exe_rtn == 100  # no data for the future
    assert station(result)["history"]["2051"]["acked"] == 3


# -- faults -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("badcrc", ErrorCode.CRC_MISMATCH),
        ("truncate", ErrorCode.TRUNCATED),
        ("oversize", ErrorCode.OVERSIZE),
    ],
)
async def test_broken_copies_are_rejected_and_the_data_still_arrives(
    fault: str, code: ErrorCode
) -> None:
    async with FakePlatform() as platform:
        result = await simulate(platform, stations=2, faults=((_spec(f"{fault}:1")),), duration=1.0)
    frames = result.frames
    assert frames["bad_sent"] == frames["sent"] > 0
    assert frames["sent"] == frames["acked"]
    assert Counter(e.code for e in platform.errors) == {code: frames["bad_sent"]}
    assert result.faults["counts"] == {fault: frames["bad_sent"]}
    assert len(platform.uploads()) == frames["sent"]


def _spec(text: str) -> Any:
    from simulators import parse_faults

    [spec] = parse_faults(text)
    return spec


async def test_split_packets_are_acked_part_by_part() -> None:
    async with FakePlatform() as platform:
        result = await simulate(platform, faults=(_spec("split:1:3"),), st=("31",), status_every=0)
    rtd = platform.uploads(cn=2011)
    assert rtd and all(f.pnum == 3 for f in rtd)
    assert result.frames["sent"] == result.frames["acked"] == len(platform.uploads())
    s = station(result)
    parts = s["cn"]["2011"]["sent"]
    assert parts % 3 == 0
    assert all(v["2011"]["sent"] == parts // 3 for v in s["values"].values())


async def test_slow_sender_frames_arrive_whole() -> None:
    async with FakePlatform() as platform:
        result = await simulate(platform, faults=(_spec("slow:1:0.2"),), st=("23",), duration=1.0)
    assert result.faults["counts"]["slow"] >= 2
    assert platform.errors == [] and result.frames["sent"] == result.frames["acked"]


async def test_disconnects_lose_nothing() -> None:
    async with FakePlatform() as platform:
        result = await simulate(
            platform, stations=3, faults=(_spec("disconnect:0.3"),), duration=2.0
        )
    conns = result.totals["connections"]
    assert conns["lost"] > 0 and conns["opened"] > 3 and platform.connections == conns["opened"]
    frames = result.frames
    assert frames["sent"] == frames["acked"] and frames["failed"] == 0
    for s in result.stations.values():
        assert s["cn"]["2081"]["sent"] == s["connections"]  # 2081 after every connect


async def test_offline_station_reboots() -> None:
    async with FakePlatform() as platform:
        result = await simulate(
            platform,
            faults=(_spec("offline:0.2:60"),),
            duration=2.5,
            status_every=0,
            time_scale=60.0,
        )
    events = [e for e in result.faults["events"] if e["kind"] == "offline"]
    assert events
    boots = [f.fields["RestartTime"] for f in platform.of(2081)]
    assert len(set(boots)) >= 2  # a reboot has a new boot time (a resent 2081 keeps its own)
    assert result.frames["sent"] == result.frames["acked"]


async def test_value_faults_are_ground_truth() -> None:
    async with FakePlatform() as platform:
        result = await simulate(
            platform,
            faults=(_spec("maint:1:600"), _spec("skew:1:600")),
            duration=1.0,
            status_every=0,
        )
    events = result.faults["events"]
    maint = [e for e in events if e["kind"] == "maint"]
    assert maint
    first = maint[0]
    flagged = [
        f for f in platform.uploads(cn=2011) if f.values[first["factor"]]["Flag"] == first["flag"]
    ]
    assert flagged
    [skew] = [e for e in events if e["kind"] == "skew"]
    assert abs(station(result)["clock_offset_s"]) == 600 == abs(skew["offset_s"])
    boot = platform.of(2081)[0]
    restart = parse_time(boot.fields["RestartTime"])
    assert restart is not None
    shift = restart.replace(tzinfo=TZ).timestamp() - START
    assert abs(abs(shift) - 600) < 30
