"""Corrupted frames are rejected with the right error and the framer resyncs."""

from __future__ import annotations

import pytest

from protocol import Decoder, ErrorCode, Frame, FrameError, crc16_modbus, encode_frame

from .vectors import VECTORS

GOOD = VECTORS[0][1]  # 2017 air real-time, 289-byte segment
NEXT = VECTORS[2][1]  # flue gas frame that must survive after the corruption


def run(data: bytes, **kw: object) -> list[object]:
    decoder = Decoder(**kw)  # type: ignore[arg-type]
    return decoder.feed(data) + decoder.close()


def flip(raw: bytes, index: int) -> bytes:
    b = bytearray(raw)
    b[index] ^= 0x01
    return bytes(b)


def swapped_modbus(raw: bytes) -> bytes:
    seg = raw[6:-6]
    m = crc16_modbus(seg)
    return raw[:-6] + b"%04X\r\n" % (((m & 0xFF) << 8) | (m >> 8))


CASES = [
    ("flipped data byte", flip(GOOD, 100), ErrorCode.CRC_MISMATCH),
    (
        "flipped CRC digit",
        GOOD[:-3] + (b"0" if GOOD[-3:-2] != b"0" else b"1") + GOOD[-2:],
        ErrorCode.CRC_MISMATCH,
    ),
    ("length too small", GOOD.replace(b"##0289", b"##0288", 1), ErrorCode.BAD_LENGTH),
    ("length too large", GOOD.replace(b"##0289", b"##0299", 1), ErrorCode.BAD_LENGTH),
    ("non-digit length", GOOD.replace(b"##0289", b"##02x9", 1), ErrorCode.BAD_HEADER),
    ("missing CRLF", GOOD[:-2], ErrorCode.TRUNCATED),
    ("cut in the middle", GOOD[:150], ErrorCode.TRUNCATED),
    ("MODBUS CRC", swapped_modbus(GOOD), ErrorCode.CRC_MISMATCH),
    ("no CP", encode_frame("QN=1;ST=22;CN=2011;PW=1;MN=X;Flag=5"), ErrorCode.BAD_HEADER),
    ("no CN", encode_frame("QN=1;ST=22;PW=1;MN=X;Flag=5;CP=&&&&"), ErrorCode.BAD_HEADER),
    (
        "oversize",
        encode_frame("ST=22;CN=2011;PW=1;MN=X;CP=&&" + "a" * 1100 + "&&"),
        ErrorCode.OVERSIZE,
    ),
]


@pytest.mark.parametrize(("name", "bad", "code"), CASES, ids=[c[0] for c in CASES])
def test_rejected_then_resync(name: str, bad: bytes, code: ErrorCode) -> None:
    for stream in (bad + NEXT, b"garbage" + bad + NEXT + NEXT):
        events = run(stream)
        errors = [
            e for e in events if isinstance(e, FrameError) and e.code is not ErrorCode.GARBAGE
        ]
        frames = [e for e in events if isinstance(e, Frame)]
        assert errors and errors[0].code is code, events
        assert len(errors) == 1, errors
        assert frames and all(f.raw == NEXT for f in frames)
        assert len(frames) == stream.count(NEXT)


@pytest.mark.parametrize(("name", "bad", "code"), CASES, ids=[c[0] for c in CASES])
def test_rejected_byte_by_byte(name: str, bad: bytes, code: ErrorCode) -> None:
    decoder = Decoder()
    events: list[object] = []
    for i in range(len(bad + NEXT)):
        events += decoder.feed((bad + NEXT)[i : i + 1])
    events += decoder.close()
    assert [e.code for e in events if isinstance(e, FrameError)] == [code]
    assert [e.raw for e in events if isinstance(e, Frame)] == [NEXT]


def test_error_offsets_point_at_the_frame() -> None:
    stream = NEXT + b"xx" + flip(GOOD, 50) + NEXT
    events = run(stream)
    errors = [e for e in events if isinstance(e, FrameError)]
    assert [e.code for e in errors] == [ErrorCode.GARBAGE, ErrorCode.CRC_MISMATCH]
    assert errors[0].offset == len(NEXT)
    assert errors[1].offset == len(NEXT) + 2
    assert errors[1].mn == "AQ0000000000000000000001"


def test_modbus_tolerance_is_per_station_and_counted() -> None:
    bad = swapped_modbus(GOOD)
    [err] = run(bad)
    assert isinstance(err, FrameError) and "MODBUS" in err.detail
    decoder = Decoder(modbus_tolerant={"AQ0000000000000000000001"})
    [ok] = decoder.feed(bad)
    assert isinstance(ok, Frame) and decoder.stats.modbus_accepted == 1
    [err2] = Decoder(modbus_tolerant={"OTHER"}).feed(bad)
    assert isinstance(err2, FrameError)


def test_oversize_accepted_behind_the_cap() -> None:
    big = encode_frame(
        "QN=1;ST=32;CN=2011;PW=1;MN=X;Flag=4;CP=&&DataTime=20240101000000;"
        + ";".join(f"w{i:05d}-Rtd=1.0" for i in range(100))
        + "&&"
    )
    assert len(big) > 1036
    [err] = Decoder().feed(big)
    assert isinstance(err, FrameError) and err.code is ErrorCode.OVERSIZE
    decoder = Decoder(max_length=9999)
    [frame] = decoder.feed(big)
    assert isinstance(frame, Frame) and decoder.stats.oversize_accepted == 1
    assert "oversize_accepted" in frame.notes


def test_length_counting_characters_is_tolerated() -> None:
    seg = "QN=1;ST=32;CN=3020;PW=1;MN=X;Flag=4;CP=&&i11001-Info=//清洗管路//&&"
    data = seg.encode()
    raw = b"##%04d%b%04X\r\n" % (len(seg), data, __import__("protocol").crc16(data))
    decoder = Decoder()
    [frame] = decoder.feed(raw + NEXT)[:1]
    assert isinstance(frame, Frame) and "length_in_chars" in frame.notes


def test_unpadded_crc_is_tolerated() -> None:
    raw = VECTORS[9][1]  # noise frame, CRC 0880
    assert raw.endswith(b"0880\r\n")
    bad = raw[:-6] + b"880\r\n"
    [frame] = Decoder().feed(bad)
    assert isinstance(frame, Frame) and frame.notes == ("crc_unpadded",)
    assert Decoder().feed(raw.replace(b"0880", b"0880".lower()))[0].kind == "data"


def test_whitespace_between_frames_is_not_garbage() -> None:
    events = run(b"\r\n \n" + NEXT + b"\n\n" + NEXT)
    assert [type(e) for e in events] == [type(events[0])] * 2 and isinstance(events[0], Frame)
