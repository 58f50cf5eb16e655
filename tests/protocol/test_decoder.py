"""Decoder: sample vectors, the corpus, and feeding at every split."""

from __future__ import annotations

from typing import Any

import pytest

from protocol import Decoder, Frame, FrameError, Role
from protocol.decoder import HARD_CAP

from .vectors import VECTORS, corpus_lines


def decode_all(data: bytes, chunks: list[int] | None = None, **kw: Any) -> list[dict[str, Any]]:
    decoder = Decoder(**kw)
    out = []
    if chunks is None:
        out += decoder.feed(data)
    else:
        pos = 0
        for size in chunks:
            out += decoder.feed(data[pos : pos + size])
            pos += size
        out += decoder.feed(data[pos:])
    out += decoder.close()
    return [e.to_json() for e in out]


def subset(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        assert actual.get(key) == value, (key, actual.get(key), value)


@pytest.mark.parametrize(("name", "raw", "expected"), VECTORS, ids=[v[0] for v in VECTORS])
def test_vector_whole(name: str, raw: bytes, expected: dict[str, Any]) -> None:
    [event] = decode_all(raw)
    subset(event, expected)


@pytest.mark.parametrize(("name", "raw", "expected"), VECTORS, ids=[v[0] for v in VECTORS])
def test_vector_byte_by_byte_and_every_split(
    name: str, raw: bytes, expected: dict[str, Any]
) -> None:
    whole = decode_all(raw)
    assert decode_all(raw, chunks=[1] * len(raw)) == whole
    for cut in range(1, len(raw)):
        assert decode_all(raw, chunks=[cut]) == whole, cut
    # with trailing data: the next frame is still decoded
    assert decode_all(raw + raw) == whole + whole


def test_all_vectors_back_to_back() -> None:
    stream = b"".join(raw for _, raw, _ in VECTORS)
    events = decode_all(stream)
    assert [e["ok"] for e in events] == [True] * len(VECTORS)
    for event, (_, _, expected) in zip(events, VECTORS, strict=True):
        subset(event, expected)


def test_corpus_decodes_every_frame() -> None:
    lines = corpus_lines()
    assert len(lines) == 4503
    stream = b"".join(line + b"\r\n" for line in lines)
    decoder = Decoder()
    events = decoder.feed(stream) + decoder.close()
    assert len(events) == 4503
    assert all(isinstance(e, Frame) for e in events), [
        e for e in events if not isinstance(e, Frame)
    ][:3]
    for line, event in zip(lines, events, strict=True):
        assert isinstance(event, Frame)
        assert event.raw == line + b"\r\n"
        head = dict(p.split("=", 1) for p in line[6:].decode().split(";CP=&&")[0].split(";"))
        assert event.cn == int(head["CN"]) and event.mn == head["MN"] and event.qn == head["QN"]
        if event.cn == 2011:
            cp = line.decode().split("CP=&&", 1)[1].rsplit("&&", 1)[0]
            expected = {}
            for item in cp.split(";")[1:]:
                for pair in item.split(","):
                    key, value = pair.split("=")
                    code, field = key.split("-")
                    expected.setdefault(code, {})[field] = value
            assert {k: dict(v) for k, v in event.values.items()} == expected
            assert event.data_time == cp.split(";")[0].removeprefix("DataTime=")
    assert decoder.stats.frames == 4503 and not decoder.stats.errors


def test_corpus_every_split_and_byte_by_byte() -> None:
    for line in corpus_lines()[::7]:
        raw = line + b"\r\n"
        whole = decode_all(raw)
        assert whole[0]["ok"]
        for cut in range(1, len(raw)):
            assert decode_all(raw, chunks=[cut]) == whole
        assert decode_all(raw, chunks=[1] * len(raw)) == whole


def test_corpus_one_per_line_without_crlf() -> None:
    lines = corpus_lines()[:200]
    stream = b"\n".join(lines)  # no terminator on the last line either
    events = decode_all(stream, lenient_terminator=True)
    assert len(events) == 200 and all(e["ok"] for e in events)


def test_role_station_reads_requests_as_commands() -> None:
    raw = VECTORS[18][1]  # the App. A 1062 request
    [event] = Decoder(role=Role.STATION).feed(raw)
    assert event.kind == "command"
    [ack] = Decoder(role=Role.STATION).feed(VECTORS[1][1])
    assert ack.kind == "reply"


def test_buffer_is_bounded_when_no_crlf_ever_comes() -> None:
    decoder = Decoder()
    events: list[Any] = decoder.feed(b"##0100QN=")
    for _ in range(200):
        events += decoder.feed(b"A" * 997)
        assert decoder.buffered <= HARD_CAP + 12 + 1
    assert any(isinstance(e, FrameError) for e in events)
