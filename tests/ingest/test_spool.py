"""The disk spool: durable batches, torn tails, the size bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.spool import Spool, SpoolError, SpoolFull, SpoolRecord, encode_record

RECORDS = [SpoolRecord(1_700_000_000.0 + i, i, b"##0010ABCDEFGHIJ1234\r\n") for i in range(100)]


def test_round_trip_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.append(RECORDS[:60])
    spool.append(RECORDS[60:])
    assert spool.size == sum(len(encode_record(r)) for r in RECORDS)
    spool.seal()
    [segment] = spool.pending()
    assert list(Spool.read(segment)) == RECORDS
    spool.remove(segment)
    assert spool.is_empty() and spool.pending() == []


def test_torn_tail_is_ignored(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.append(RECORDS[:10])
    spool.seal()
    [segment] = spool.pending()
    data = segment.read_bytes()
    segment.write_bytes(data + encode_record(RECORDS[10])[:-7])  # crash mid-write
    assert list(Spool.read(segment)) == RECORDS[:10]
    corrupt = bytearray(data)
    corrupt[len(encode_record(RECORDS[0])) + 20] ^= 1  # a flipped bit in record 2
    segment.write_bytes(bytes(corrupt))
    assert list(Spool.read(segment)) == RECORDS[:1]


def test_size_limit_refuses_without_writing(tmp_path: Path) -> None:
    one = len(encode_record(RECORDS[0]))
    spool = Spool(tmp_path, max_bytes=one * 15)
    spool.append(RECORDS[:10])
    with pytest.raises(SpoolFull):
        spool.append(RECORDS[10:20])
    assert spool.size == one * 10
    spool.seal()
    assert len(list(Spool.read(spool.pending()[0]))) == 10


def test_survives_a_restart(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.append(RECORDS[:5])
    spool.close()
    again = Spool(tmp_path, max_bytes=1 << 20)
    assert again.size == spool.size and len(again.pending()) == 1
    again.append(RECORDS[5:7])  # a new segment, the old one stays replayable
    again.seal()
    assert [len(list(Spool.read(p))) for p in again.pending()] == [5, 2]


def test_a_full_disk_leaves_no_torn_or_empty_segment(tmp_path: Path) -> None:
    """ENOSPC on write (a tmpfs would do it; here the write is made to fail) must not
    leave a torn tail or an empty segment behind, and the spool must keep working."""
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.append(RECORDS[:3])
    real_open = spool._open_segment

    class Full:
        def __init__(self, fh: object) -> None:
            self.fh = fh

        def write(self, data: bytes) -> int:
            self.fh.write(data[: len(data) // 2])  # type: ignore[attr-defined]
            raise OSError(28, "No space left on device")

        def __getattr__(self, name: str) -> object:
            return getattr(self.fh, name)

    spool._open_segment = lambda n: Full(real_open(n))  # type: ignore[assignment,method-assign]
    with pytest.raises(SpoolError):
        spool.append(RECORDS[3:6])
    spool._open_segment = real_open  # type: ignore[method-assign]
    spool.append(RECORDS[6:8])
    spool.seal()
    got = [r for p in spool.pending() for r in Spool.read(p)]
    assert got == RECORDS[:3] + RECORDS[6:8]
    assert all(p.stat().st_size > 0 for p in spool.pending())
