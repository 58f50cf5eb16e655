"""Fault grammar and the per-station fault state."""

from __future__ import annotations

import pytest

from simulators.faults import FaultKind, FaultLog, FaultSpec, StationFaults, parse_faults
from simulators.profiles import profile_for, wire_codes

K = FaultKind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ()),
        ("disconnect:0.01", (FaultSpec(K.DISCONNECT, 0.01),)),
        ("offline:0.001:1200", (FaultSpec(K.OFFLINE, 0.001, 1200.0),)),
        ("offline:0.001:20m", (FaultSpec(K.OFFLINE, 0.001, 1200.0),)),
        ("stuck:0.5:1h, jump:1", (FaultSpec(K.STUCK, 0.5, 3600.0), FaultSpec(K.JUMP, 1.0))),
        (
            "skew:0.05:600s,split:0.1:3",
            (FaultSpec(K.SKEW, 0.05, 600.0), FaultSpec(K.SPLIT, 0.1, 3.0)),
        ),
        ("BADCRC:1e-3", (FaultSpec(K.BADCRC, 0.001),)),
        (
            "disconnect:0.01,offline:0.001:1200,stuck:0.01,exceed:0.005,jump:0.01,maint:0.01,"
            "badcrc:0.001,truncate:0.001,oversize:0.001,slow:0.01,skew:0.05:600,split:0.05",
            12,
        ),
    ],
)
def test_grammar(text: str, expected: object) -> None:
    specs = parse_faults(text)
    if isinstance(expected, int):
        assert len(specs) == expected
        assert [s.kind for s in specs] == list(FaultKind)
    else:
        assert specs == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stuck", "expected KIND:PROB"),
        ("stuck:0.1:1:2", "expected KIND:PROB"),
        ("flood:0.1", "unknown kind 'flood'"),
        ("stuck:1.5", r"PROB must be in \[0, 1\]"),
        ("stuck:abc", "not a number"),
        ("stuck:10m", "plain probability"),
        ("badcrc:0.1:5", "takes no PARAM"),
        ("split:0.1:1", "number of parts"),
        ("slow:0.1:0", "must be > 0"),
        ("stuck:0.1,stuck:0.2", "given twice"),
    ],
)
def test_grammar_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_faults(text)


def test_defaults_and_str() -> None:
    assert FaultSpec(K.OFFLINE, 0.1).value == 1200.0
    assert FaultSpec(K.SLOW, 0.1).value == 3.0
    assert str(FaultSpec(K.OFFLINE, 0.001, 1200.0)) == "offline:0.001:1200"


def faults(text: str, st: str = "22", log: FaultLog | None = None) -> StationFaults:
    profile = profile_for(st)
    return StationFaults(
        parse_faults(text),
        seed=1,
        mn="MN1",
        profile=profile,
        codes=wire_codes(profile, "2017"),
        log=log or FaultLog(),
    )


def fmt(ts: float) -> str:
    return f"T{int(ts)}"


def run_samples(f: StationFaults, n: int, base: list[float]) -> list[tuple[list[float], list[str]]]:
    out = []
    for k in range(n):
        values = [v * (1 + 0.01 * k) for v in base]
        flags = ["N"] * len(values)
        f.on_sample(1000.0 + 30 * k, values, flags, fmt, 0.0)
        out.append((values, flags))
    return out


BASE = [9.0, 30.0, 0.7, 70.0, 60.0, 35.0, 20.0, 70.0, 101.0, 2.0, 120.0]


def test_stuck_repeats_one_value() -> None:
    log = FaultLog()
    f = faults("stuck:1:600", log=log)
    samples = run_samples(f, 3, BASE)
    event = log.events[0]
    assert event["kind"] == "stuck" and event["start"] == "T1000" and event["end"] == "T1600"
    i = profile_for("22").index(event["factor"])
    assert samples[0][0][i] == samples[1][0][i] == samples[2][0][i]


def test_exceedance_goes_past_the_limit() -> None:
    log = FaultLog()
    f = faults("exceed:1:600", log=log)
    values, _ = run_samples(f, 1, BASE)[0]
    event = log.events[0]
    i = profile_for("22").index(event["factor"])
    assert values[i] > event["limit"] * 1.2


def test_maintenance_flags() -> None:
    log = FaultLog()
    f = faults("maint:1:600", log=log)
    _, flags = run_samples(f, 1, BASE)[0]
    event = log.events[0]
    i = profile_for("22").index(event["factor"])
    assert flags[i] == event["flag"] in ("M", "C", "D")


def test_jump_is_a_single_sample_by_default() -> None:
    log = FaultLog()
    f = faults("jump:1", log=log)
    values, _ = run_samples(f, 1, BASE)[0]
    event = log.events[0]
    i = profile_for("22").index(event["factor"])
    assert values[i] == pytest.approx(BASE[i] * event["value"])
    assert event["start"] == event["end"]


def test_wire_faults() -> None:
    assert faults("stuck:1").wire() is None
    wire = faults("badcrc:1,slow:1:2,split:1:3,offline:1:60").wire()
    assert wire is not None
    assert wire.prelude is K.BADCRC and wire.slow == 2.0 and wire.split == 3
    assert wire.after is K.OFFLINE and wire.offline_for == 60.0
    assert faults("badcrc:0").wire() is None


def test_skew_is_logged() -> None:
    log = FaultLog()
    specs = parse_faults("skew:1:300")
    f = faults("skew:1:300", log=log)
    offset = f.skew(specs, lambda: "T0")
    assert abs(offset) == 300
    assert log.events == [{"kind": "skew", "mn": "MN1", "offset_s": offset, "start": "T0"}]


def test_log_is_bounded() -> None:
    log = FaultLog(limit=2)
    for _ in range(5):
        log.record(K.BADCRC, "MN")
    assert len(log.events) == 2 and log.counts == {"badcrc": 5} and log.truncated
