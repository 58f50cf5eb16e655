"""The HJ 212 CRC: the standard's example, public sources, and the fast path == oracle."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protocol import crc16, crc16_batch, crc16_modbus, crc16_reference, format_crc
from protocol.crc import crc16_fold, crc16_table_loop

from .vectors import SAMPLES, corpus_lines

APP_A = (
    b"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;"
    b"Flag=5;CP=&&RtdInterval=30&&"
)


def test_standard_example_is_1c80_not_modbus() -> None:
    assert format_crc(crc16(APP_A)) == "1C80"
    assert format_crc(crc16_modbus(APP_A)) == "0759"  # CRC-16/MODBUS: wrong for HJ 212


def test_every_sample_and_corpus_crc() -> None:
    frames = [s["frame"].encode() for s in SAMPLES] + [line + b"\r\n" for line in corpus_lines()]
    segments = [f[6:-6] for f in frames]
    sent = [int(f[-6:-2], 16) for f in frames]
    assert [crc16(s) for s in segments] == sent
    assert [crc16_fold(s) for s in segments] == sent
    assert crc16_batch(segments) == sent


@given(st.binary(min_size=0, max_size=2500))
def test_fast_equals_reference(data: bytes) -> None:
    assert crc16(data) == crc16_reference(data) == crc16_table_loop(data) == crc16_fold(data)


def test_crc16_is_the_compiled_loop_when_built() -> None:
    import protocol.crc

    built = protocol.crc.compiled(protocol.crc.fastpath, "crc16")
    assert crc16 is (built or crc16_fold)
    assert crc16(bytearray(APP_A)) == crc16(memoryview(APP_A)) == 0x1C80


@given(st.lists(st.binary(min_size=1, max_size=1200), min_size=1, max_size=30))
def test_batch_equals_single(frames: list[bytes]) -> None:
    assert crc16_batch(frames) == [crc16(f) for f in frames]
