"""Replay: file parsing, filtering, pacing, and a replay of the corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol import encode_upload
from simulators import ReplayConfig, run_replay
from simulators.clock import zone
from simulators.replay import parse_replay, read_replay, replay_offsets

from .fake_platform import FakePlatform

CORPUS = Path(__file__).resolve().parents[1] / "data" / "hj212" / "virt2017.txt"
TZ = zone("Asia/Shanghai")
MN = "880000012200000000000001"


def frame(qn: str, cn: int = 2011, ack: bool = True, mn: str = MN) -> bytes:
    return encode_upload(
        cn,
        st="22",
        mn=mn,
        pw="123456",
        qn=qn,
        data_time=qn[:14],
        values={"a34004": {"Rtd": "35", "Flag": "N"}},
        ack=ack,
    )


def test_lines_with_and_without_crlf_blank_and_junk() -> None:
    a = frame("20240501080000000")
    b = frame("20240501080030000")
    lines = [a, b.rstrip(b"\r\n"), b"", b"   ", b"# a comment", b"garbage"]
    parsed = parse_replay(lines, tz=TZ)
    assert [f.data for f in parsed.frames] == [a, b]
    assert parsed.skipped == {"not_a_frame": 2}
    assert all(f.decoded and f.ack_key and f.mn == MN for f in parsed.frames)
    assert parsed.frames[1].at == parsed.frames[0].at + 30  # type: ignore[operator]


def test_corpus_filter() -> None:
    uplink = read_replay(CORPUS, tz=TZ)
    everything = read_replay(CORPUS, direction="all", tz=TZ)
    assert len(everything.frames) == 4503
    assert uplink.skipped == {"downlink": 2083 + 2}  # 9014 answers and the 1012 commands
    assert {f.cn for f in uplink.frames} == {1011, 1013, 2011, 2021, 2081, 9011, 9012, 9021}
    assert all(f.decoded for f in uplink.frames)
    assert list(uplink.by_mn()) == ["DXCBZ000000005"]


def test_broken_lines_are_kept_as_bad_frames() -> None:
    good = frame("20240501080000000")
    bad = good[:-6] + b"0000\r\n"
    [parsed] = parse_replay([bad], tz=TZ).frames
    assert not parsed.decoded and parsed.ack_key is None and parsed.mn == MN and parsed.cn == 2011


@pytest.mark.parametrize(
    ("pace", "scale", "gap", "expected"),
    [
        ("original", 1.0, 60.0, [0.0, 30.0, 30.0, 3630.0 - 3600 + 60]),
        ("original", 10.0, 60.0, [0.0, 3.0, 3.0, 63.0]),
        ("fast", 1.0, 60.0, [0.0, 0.0, 0.0, 0.0]),
    ],
)
def test_pacing(pace: str, scale: float, gap: float, expected: list[float]) -> None:
    lines = [
        frame(q)
        for q in (
            "20240501080000000",
            "20240501080030000",
            "20240501080010000",
            "20240501090100000",
        )
    ]
    frames = list(parse_replay(lines, tz=TZ).frames)
    assert replay_offsets(frames, pace=pace, scale=scale, max_gap=gap) == pytest.approx(expected)


async def test_replay_the_corpus_fast() -> None:
    async with FakePlatform() as platform:
        result = await run_replay(
            ReplayConfig(path=str(CORPUS), port=platform.port, pace="fast", drain=3.0, uvloop=False)
        )
    frames = result.frames
    assert frames["sent"] == len(platform.frames) == 4503 - 2085
    # a QN the recording uses twice (1011 request and answer) is tracked once
    keys = {f.ack_key for f in read_replay(CORPUS, tz=TZ).frames if f.ack_key}
    assert frames["acked"] == len(keys) > 2000
    assert frames["failed"] == 0 and frames["unacked_at_end"] == 0
    errors = result.totals["errors"]
    assert errors["duplicate_acks"] + errors["unmatched_acks"] == platform.acks_sent - len(keys)
    [(mn, summary)] = result.stations.items()
    rtd = [f for f in read_replay(CORPUS, tz=TZ).frames if f.cn == 2011]
    assert mn == "DXCBZ000000005" and summary["cn"]["2011"]["sent"] == len(rtd) == 2187
    # a QN seen before on the connection (a resent frame, a 2021 sharing it) is not tracked
    assert 2000 < summary["cn"]["2011"]["acked"] <= len({f.ack_key for f in rtd})
    assert result.to_json()["totals"]["replay"]["skipped"] == {"downlink": 2085}


async def test_replay_keeps_the_original_pacing(tmp_path: Path) -> None:
    path = tmp_path / "three.txt"
    path.write_bytes(
        b"".join(frame(q) for q in ("20240501080000000", "20240501080001000", "20240501080003000"))
    )
    async with FakePlatform() as platform:
        result = await run_replay(
            ReplayConfig(path=str(path), port=platform.port, time_scale=10.0, uvloop=False)
        )
    assert result.frames["acked"] == 3
    t = platform.times
    assert 0.07 < t[1] - t[0] < 0.2 and 0.15 < t[2] - t[1] < 0.35


def test_missing_file() -> None:
    with pytest.raises(ValueError, match="cannot read it"):
        read_replay("/nonexistent/replay.txt", tz=TZ)
