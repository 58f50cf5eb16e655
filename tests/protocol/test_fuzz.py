"""h11's invariant: any bytes give frames or protocol errors — never an exception,
never a hang, never a buffer beyond the cap — and valid frames survive garbage."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import Decoder, Frame, FrameError, Role
from protocol.decoder import HARD_CAP

from .vectors import VECTORS, corpus_lines

FRAMES = [raw for _, raw, _ in VECTORS] + [line + b"\r\n" for line in corpus_lines()[:50]]
CAP = HARD_CAP + 12 + 1


def feed_in_chunks(decoder: Decoder, data: bytes, cuts: list[int]) -> list[object]:
    out: list[object] = []
    pos = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        out += decoder.feed(data[pos:cut])
        assert decoder.buffered <= CAP
        pos = max(pos, cut)
    out += decoder.feed(data[pos:])
    assert decoder.buffered <= CAP
    out += decoder.close()
    return out


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=4000),
    st.lists(st.integers(0, 4000), max_size=20),
    st.sampled_from(list(Role)),
    st.booleans(),
)
def test_arbitrary_bytes(data: bytes, cuts: list[int], role: Role, lenient: bool) -> None:
    events = feed_in_chunks(Decoder(role=role, lenient_terminator=lenient), data, cuts)
    for e in events:
        assert isinstance(e, Frame | FrameError)
        e.to_json()  # serialisable; lazily parsed CP must not raise either
        if isinstance(e, Frame):
            _ = e.values, e.fields, e.data_time


mutation = st.tuples(
    st.integers(0, 10_000),
    st.sampled_from(["flip", "drop", "insert", "dup"]),
    st.binary(min_size=1, max_size=8),
)


def mutate(data: bytes, ops: list[tuple[int, str, bytes]]) -> bytes:
    b = bytearray(data)
    for pos, op, blob in ops:
        if not b:
            break
        i = pos % len(b)
        if op == "flip":
            b[i] ^= blob[0] or 1
        elif op == "drop":
            del b[i : i + len(blob)]
        elif op == "insert":
            b[i:i] = blob
        else:
            b[i:i] = b[i : i + 40]
    return bytes(b)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(FRAMES), min_size=1, max_size=8),
    st.lists(mutation, max_size=6),
    st.lists(st.integers(0, 4000), max_size=10),
)
def test_mutated_streams(
    frames: list[bytes], ops: list[tuple[int, str, bytes]], cuts: list[int]
) -> None:
    data = mutate(b"".join(frames), ops)
    events = feed_in_chunks(Decoder(), data, cuts)
    for e in events:
        assert isinstance(e, Frame | FrameError)
        e.to_json()


@settings(max_examples=200)
@given(
    st.lists(st.sampled_from(FRAMES), min_size=1, max_size=6),
    st.lists(st.binary(max_size=50).filter(lambda g: b"#" not in g), min_size=7, max_size=7),
    st.lists(st.integers(0, 4000), max_size=10),
)
def test_valid_frames_survive_garbage_between_them(
    frames: list[bytes], junk: list[bytes], cuts: list[int]
) -> None:
    data = b"".join(j + f for j, f in zip(junk, frames, strict=False)) + junk[-1]
    events = feed_in_chunks(Decoder(), data, cuts)
    got = [e.raw for e in events if isinstance(e, Frame)]
    assert got == frames
