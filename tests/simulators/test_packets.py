"""Split packets and the broken copies of the fault injector, checked with the decoder."""

from __future__ import annotations

import itertools

import pytest

from protocol import Decoder, ErrorCode, Frame, FrameError, Reassembler
from simulators.packets import build_upload, corrupt_crc, oversize, segment_length, truncate

VALUES = {
    "w01018": {"Rtd": "40.1", "Flag": "N"},
    "w21003": {"Rtd": "1.234", "Flag": "N"},
    "w21011": {"Rtd": "0.210", "Flag": "N"},
    "w00000": {"Rtd": "45.21", "Flag": "N"},
}


def qns() -> itertools.count[int]:
    return itertools.count(1)


def upload(
    values: dict[str, dict[str, str]], *, split: int | None = None, edition: str = "2017"
) -> list:
    counter = qns()
    return build_upload(
        2011,
        st="32",
        mn="880000013200000000000001",
        pw="123456",
        edition=edition,
        qn=lambda: f"20240501080000{next(counter):03d}",
        data_time="20240501080000",
        values=values,
        split=split,
    )


def decode(data: bytes, **kw: object) -> list[Frame | FrameError]:
    decoder = Decoder(**kw)  # type: ignore[arg-type]
    return [*decoder.feed(data), *decoder.close()]


def test_a_small_upload_is_one_frame() -> None:
    [part] = upload(VALUES)
    [frame] = decode(part.data)
    assert isinstance(frame, Frame)
    assert frame.pnum is None and frame.flag == 5 and frame.qn == part.qn
    assert part.codes == tuple(VALUES)


@pytest.mark.parametrize("parts", [2, 3, 4])
def test_forced_split(parts: int) -> None:
    built = upload(VALUES, split=parts)
    assert len(built) == parts
    assert len({p.qn for p in built}) == parts  # each part has its own QN ([S17] C.50)
    reassembler = Reassembler()
    groups = []
    for number, part in enumerate(built, start=1):
        [frame] = decode(part.data)
        assert isinstance(frame, Frame)
        assert (frame.pnum, frame.pno, frame.flag) == (parts, number, 7)  # D and A bits
        assert frame.data_time == "20240501080000"
        groups += reassembler.add(frame, 0.0)
    [group] = groups
    assert group.complete
    assert {code: dict(v) for code, v in group.values.items()} == VALUES


def test_a_large_upload_is_split_to_fit_1024() -> None:
    many = {
        f"w{20100 + i:05d}": {"Avg": "123.456", "Min": "100.000", "Max": "150.000", "Flag": "N"}
        for i in range(40)
    }
    built = upload(many)
    assert len(built) > 1
    covered: list[str] = []
    for part in built:
        assert segment_length(part.data) <= 1024
        [frame] = decode(part.data)
        assert isinstance(frame, Frame) and frame.pnum == len(built)
        covered += part.codes
    assert covered == list(many)


def test_2005_split_sets_the_d_bit() -> None:
    built = upload(VALUES, split=2, edition="2005")
    [frame] = decode(built[0].data)
    assert isinstance(frame, Frame) and frame.edition == "2005" and frame.flag == 3


def test_bad_crc_is_rejected() -> None:
    [part] = upload(VALUES)
    events = decode(corrupt_crc(part.data) + part.data)
    assert isinstance(events[0], FrameError) and events[0].code is ErrorCode.CRC_MISMATCH
    assert isinstance(events[1], Frame) and events[1].qn == part.qn


@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.7, 0.999])
def test_truncated_copy_is_rejected_and_the_next_frame_survives(fraction: float) -> None:
    [part] = upload(VALUES)
    cut = truncate(part.data, fraction)
    assert len(cut) < len(part.data) - 6 and cut.startswith(b"##")
    events = decode(cut + part.data)
    assert [isinstance(e, Frame) for e in events] == [False, True]
    assert isinstance(events[0], FrameError) and events[0].code is ErrorCode.TRUNCATED
    # and at the end of a stream
    [alone] = decode(cut)
    assert isinstance(alone, FrameError) and alone.code is ErrorCode.TRUNCATED


def test_oversize_copy() -> None:
    [part] = upload(VALUES)
    big = oversize(part.data)
    assert segment_length(big) > 1024
    events = decode(big + part.data)
    assert isinstance(events[0], FrameError) and events[0].code is ErrorCode.OVERSIZE
    assert isinstance(events[1], Frame)
    # a server that accepts long frames stores a duplicate but is asked for no ack
    [accepted] = decode(big, max_length=9999)
    assert isinstance(accepted, Frame)
    assert not accepted.ack_requested and accepted.data_time == "20240501080000"
    assert {c: dict(v) for c, v in accepted.values.items()} == VALUES
