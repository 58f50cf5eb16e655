"""HJ 212-2025 stations against a real local TCP peer (the fake platform decoding with
``Role.PLATFORM`` and the stations' SM4 keys), edition mixes and their identities."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import pytest

from envgrid.cli import main
from protocol import DataUpload, Frame, Reply
from protocol.sm4 import parse_key
from simulators import FleetConfig, FleetResult, run_fleet, station_identities
from simulators.clock import parse_start_time, zone
from simulators.config import ConfigError
from simulators.editions import parse_edition_mix
from simulators.faults import parse_faults
from simulators.noise import seed_of, unit_at

from .fake_platform import FakePlatform

TZ = zone("Asia/Shanghai")
START = parse_start_time("2024-05-01T08:58:00", TZ)


def keys_of(stations: int, seed: int = 1, **fleet: Any) -> dict[str, bytes]:
    """MN → SM4 key as ``--list-stations`` gives them (the platform's registry)."""
    ids = station_identities(stations, seed=seed, **fleet)
    return {i.mn: parse_key(i.sm4_key) for i in ids if i.sm4_key}


def config(platform: FakePlatform, **kw: Any) -> FleetConfig:
    base: dict[str, Any] = {
        "port": platform.port,
        "stations": 1,
        "edition": "2025",
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


def registry(keys: dict[str, bytes]) -> Any:
    return lambda mn: [keys[mn]] if mn in keys else []


async def test_encrypted_uploads_flags_and_heartbeats() -> None:
    keys = keys_of(2, st=("22", "31"), edition="2025")
    async with FakePlatform(sm4_keys=registry(keys)) as platform:
        result = await run_fleet(
            config(
                platform,
                stations=2,
                st=("22", "31"),
                encrypt=True,
                heartbeat=20.0,  # < RtdInterval 30: one 9015 in each gap between samples
                min_interval=1,
                duration=2.0,
            )
        )
    assert platform.errors == []  # every encrypted CP decrypted, CRC over the plaintext ok
    uploads = platform.uploads()
    assert len(uploads) > 10
    assert {f.edition for f in platform.frames} == {"2025"}
    assert {f.flag for f in uploads} <= {9, 11}  # version 2 + ack (+ split)
    assert all(f.encrypted for f in uploads if 2000 <= f.cn <= 2999)
    assert all(f.mn in keys for f in uploads)
    wire = b"".join(platform.raw)
    assert b"CP=&&{0x" in wire and b"a21026-Rtd=" not in wire  # the values went encrypted
    assert not any(f.backfill for f in uploads)  # nothing was re-sent
    frames = result.frames
    assert frames["sent"] == frames["acked"] == platform.acks_sent
    beats = platform.of(9015)
    assert beats and all(f.flag == 9 and not f.encrypted for f in beats)
    assert frames["heartbeats_sent"] == len(beats) == frames["heartbeats_answered"]
    # a heartbeat only after 20 simulated s without a frame: with data every 30 s, one in
    # each gap, never two in a row
    for mn in keys:
        kinds = ["beat" if f.cn == 9015 else "data" for f in platform.frames if f.mn == mn]
        assert "beat" in kinds and ["beat", "beat"] not in [
            kinds[i : i + 2] for i in range(len(kinds))
        ]


async def test_no_heartbeat_when_data_come_more_often() -> None:
    async with FakePlatform() as platform:
        result = await run_fleet(config(platform, heartbeat=60.0, duration=1.5))
    assert platform.of(9015) == [] and result.frames["heartbeats_sent"] == 0
    assert len(platform.of(2011)) >= 2
    assert {f.flag for f in platform.uploads()} == {9} and platform.errors == []


async def test_backlog_after_a_disconnect_is_marked_rf1() -> None:
    keys = keys_of(3, edition="2025")
    async with FakePlatform(sm4_keys=registry(keys)) as platform:
        result = await run_fleet(
            config(
                platform,
                stations=3,
                encrypt=True,
                faults=parse_faults("disconnect:0.3"),
                duration=2.0,
            )
        )
    assert platform.errors == []
    assert result.totals["connections"]["lost"] > 0
    frames = result.frames
    assert frames["sent"] == frames["acked"] and frames["failed"] == 0
    assert frames["backfilled"] > 0
    again = [f for f in platform.uploads() if f.backfill]
    assert again and all(f.encrypted and f.raw.count(b";RF=1;CP=&&") == 1 for f in again)
    # exactly the frames the stations re-sent after a reconnect (unacked or queued) carry it
    assert len({(f.mn, f.qn) for f in again}) == frames["backfilled"]
    assert all(f.cn != 2081 for f in again)  # the restart notice is sent after connecting


async def test_a_platform_without_the_key_cannot_read_the_data() -> None:
    async with FakePlatform() as platform:
        await run_fleet(config(platform, encrypt=True, duration=1.0, drain=0.3))
    assert platform.uploads() == []  # 2081 and the data: all encrypted
    assert {e.code.value for e in platform.errors} == {"sm4_no_key"}


async def test_encrypted_commands_are_decrypted_and_answered() -> None:
    keys = keys_of(1, edition="2025")
    [(mn, key)] = keys.items()
    new_key = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
    ring = [key]  # the platform's keys for the station: current first

    async with FakePlatform(sm4_keys=lambda m: ring if m == mn else []) as platform:
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_fleet(config(platform, encrypt=True, duration=30.0, drain=1.0), stop=stop)
        )
        n = 0

        async def send(cn: int, cp: dict[str, Any], *, sm4_key: bytes | None) -> list[Frame]:
            nonlocal n
            n += 1
            qn = f"20240501090000{n:03d}"
            start = len(platform.frames)

            def answered() -> list[Frame]:
                return [
                    f
                    for f in platform.frames[start:]
                    if (isinstance(f, Reply) and f.request_qn == qn) or f.effective_qn == qn
                ]

            platform.command(mn, cn, cp, qn=qn, edition="2025", sm4_key=sm4_key)
            await platform.wait_for(lambda: any(f.cn == 9012 for f in answered()), timeout=5)
            return answered()

        try:
            await platform.wait_for(lambda: bool(platform.of(2081)))
            window = {"BeginTime": "20240501060000", "EndTime": "20240501070000"}
            history = await send(2061, window, sm4_key=key)
            field = await send(3020, {"PolId": "a34004", "InfoId": "i12001"}, sm4_key=key)
            plain = await send(1061, {}, sm4_key=None)
            change = {"SKCreateTime": "20240501090000000", "NewSK": new_key.hex()}
            exchange = await send(1014, change, sm4_key=key)
            ring[:] = [new_key, key]  # the platform takes the key the station confirmed
            mark = len(platform.frames)
            await platform.wait_for(  # data under the new key (the platform's first)
                lambda: any(f.cn == 2011 and f.notes == ("sm4",) for f in platform.frames[mark:])
            )
            first_new = next(
                i for i, f in enumerate(platform.frames) if i >= mark and f.notes == ("sm4",)
            )
            again = await send(1061, {}, sm4_key=None)
            old_key_command = await send(3020, {"InfoId": "i12001"}, sm4_key=key)
            new_key_command = await send(3020, {"InfoId": "i13001"}, sm4_key=new_key)
        finally:
            stop.set()
            result = await task
    assert platform.errors == []
    replies = [f for f in history + field + plain + exchange if isinstance(f, Reply)]
    assert replies and all(f.flag == 8 for f in replies)  # 2025 replies
    assert [f.cn for f in history if isinstance(f, Reply)] == [9011, 9012]
    data = [f for f in platform.of(2061) if isinstance(f, DataUpload)]
    assert [f.data_time for f in data] == ["20240501060000", "20240501070000"]
    assert all(f.backfill and f.encrypted and f.flag == 9 for f in data)  # RF=1: past data
    [info] = [f for f in field if f.cn == 3020]
    assert info.encrypted and info.flag == 8 and "i12001-Info" in info.cp
    [rtd] = [f for f in plain if f.cn == 1061]
    assert not rtd.encrypted and rtd.fields["RtdInterval"] == "30"
    # 1014: answered, then the station encrypts with the new key (the platform's first)
    assert [(f.cn, f.exe_rtn) for f in exchange if isinstance(f, Reply)] == [
        (9011, None),
        (9012, 1),
    ]
    later = [f for f in platform.frames[first_new:] if f.encrypted]
    assert later and all(f.notes == ("sm4",) for f in later)  # the old key is not used again
    assert any(f.cn == 1061 for f in again)
    for answers in (old_key_command, new_key_command):  # commands under either key are read
        assert [f.encrypted for f in answers if f.cn == 3020] == [True]
    assert result.stations[mn]["commands"] == {"1014": 1, "1061": 2, "2061": 1, "3020": 3}
    assert "sm4_key" not in result.stations[mn]  # the summary keeps the key out


# -- edition mixes and identities -----------------------------------------------------------


def test_edition_mix_proportions_are_seeded() -> None:
    ids = station_identities(2000, seed=7, edition="2017:0.5,2025:0.5")
    count = Counter(i.edition for i in ids)
    assert set(count) == {"2017", "2025"} and 900 <= count["2025"] <= 1100
    assert ids == station_identities(2000, seed=7, edition="2017:0.5,2025:0.5")
    weighted = Counter(
        i.edition for i in station_identities(2000, seed=7, edition="2005:1,2017:1,2025:2")
    )
    assert 900 <= weighted["2025"] <= 1100 and 400 <= weighted["2005"] <= 600
    keys = [i.sm4_key for i in ids if i.edition == "2025"]
    assert all(k is not None and len(k) == 32 and int(k, 16) >= 0 for k in keys)
    assert len(set(keys)) == len(keys)
    assert all(i.sm4_key is None for i in ids if i.edition != "2025")
    other = station_identities(20, seed=8, edition="2025")
    assert {i.sm4_key for i in other}.isdisjoint(keys)
    assert all(len(i.mn) == 24 for i in ids)


def test_mix_still_means_2005_and_2017_as_before() -> None:
    ids = station_identities(200, seed=3, edition="mix")
    expected = ["2005" if unit_at(seed_of(3, "edition"), i) < 0.5 else "2017" for i in range(200)]
    assert [i.edition for i in ids] == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("2017:0.5,2030:0.5", "unknown edition '2030'"),
        ("2017:0,2025:0", "must sum to more than 0"),
        ("2017:x,2025:1", "weight 'x' of 2017 is not a number"),
        ("2017:-1,2025:1", "must be a number ≥ 0"),
        ("2017,2025:1", "has no weight"),
        ("2017:1,2017:1", "given twice"),
        (",", "is empty"),
    ],
)
def test_bad_edition_mix_is_refused(
    spec: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_edition_mix(spec)
    assert main(["simulate", "--edition-mix", spec, "--list-stations"]) == 2
    err = capsys.readouterr().err
    assert "envgrid simulate: error:" in err and message in err


def test_encrypt_needs_2025_stations(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match="--encrypt needs HJ 212-2025 stations"):
        FleetConfig(edition="2017:1,2005:1", encrypt=True)
    assert main(["simulate", "--encrypt", "--duration", "1"]) == 2
    assert "--encrypt needs" in capsys.readouterr().err


def test_list_stations_gives_edition_and_key(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--stations", "40", "--edition-mix", "2017:1,2025:1", "--list-stations"]
    assert main(argv) == 0
    stations = json.loads(capsys.readouterr().out)
    assert {s["edition"] for s in stations} == {"2017", "2025"}
    for s in stations:
        assert {"mn", "pw", "name", "st", "edition"} <= set(s)
        if s["edition"] == "2025":
            assert len(s["sm4_key"]) == 32 and parse_key(s["sm4_key"])
        else:
            assert "sm4_key" not in s
    again = keys_of(40, edition="2017:1,2025:1")
    assert {s["mn"]: parse_key(s["sm4_key"]) for s in stations if "sm4_key" in s} == again


async def test_mixed_fleet_speaks_both_editions() -> None:
    keys = keys_of(6, edition="2017:0.5,2025:0.5")
    async with FakePlatform(sm4_keys=registry(keys)) as platform:
        result: FleetResult = await run_fleet(
            config(platform, stations=6, edition="2017:0.5,2025:0.5", encrypt=True)
        )
    assert platform.errors == []
    by_edition = {f.mn: f.edition for f in platform.uploads()}
    assert set(by_edition.values()) == {"2017", "2025"}
    for f in platform.uploads():
        assert f.encrypted == (f.mn in keys)
        assert f.flag == (9 if f.mn in keys else 5)
    assert result.frames["sent"] == result.frames["acked"]
