"""Append-only disk spool: where accepted frames go while the database is away.

Theory of operation
-------------------
Each worker owns a directory of segment files ``NNNNNNNNNNNN.spool``.  A
record is::

    b"EG" | version u8 | reserved u8 | length u32 | received_at f64 |
    station_id i32 | <length bytes: the frame as received> | crc32 u32

(little-endian; the CRC covers everything before it).  :meth:`Spool.append`
writes a whole batch and, with ``fsync=True``, fsyncs it before returning —
only then are the frames acked.  A crash mid-write leaves a torn last record,
which the reader recognises (short read or CRC mismatch) and stops at: those
frames were never acked, so their stations still hold them.

Replay takes the *closed* segments oldest first (:meth:`Spool.seal` closes the
current one), feeds their frames back through the writer, and deletes a
segment only after everything in it is committed.  The database's ledger
makes replay idempotent, so a segment replayed twice (crash during replay)
stores nothing twice.

Bounded: :meth:`append` refuses (:class:`SpoolFull`) once the directory would
exceed ``max_bytes``; the pipeline then stops acking, and stations keep their
data until space returns.  A full disk (``ENOSPC``) is reported the same way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

__all__ = ["Spool", "SpoolError", "SpoolFull", "SpoolRecord"]

log = logging.getLogger(__name__)

_HEAD: Final = struct.Struct("<2sBBIdi")
_CRC: Final = struct.Struct("<I")
_MAGIC: Final = b"EG"
_VERSION: Final = 1
_SEGMENT_BYTES: Final = 64 * 1024 * 1024


class SpoolError(OSError):
    """The spool cannot take the batch (full, or the disk failed)."""


class SpoolFull(SpoolError):
    """The spool reached ``max_bytes``."""


@dataclass(frozen=True, slots=True)
class SpoolRecord:
    received_at: float  # unix time
    station_id: int
    raw: bytes  # the frame as received, ## … CRLF


def encode_record(record: SpoolRecord) -> bytes:
    body = (
        _HEAD.pack(_MAGIC, _VERSION, 0, len(record.raw), record.received_at, record.station_id)
        + record.raw
    )
    return body + _CRC.pack(zlib.crc32(body))


class Spool:
    """One worker's spool directory."""

    def __init__(self, directory: Path, *, max_bytes: int, fsync: bool = True) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.fsync = fsync
        directory.mkdir(parents=True, exist_ok=True)
        self._current: BinaryIO | None = None
        self._current_path: Path | None = None
        self._current_size = 0
        self._size = sum(p.stat().st_size for p in self._segment_paths())

    # -- inspection ------------------------------------------------------------
    @property
    def size(self) -> int:
        """Bytes on disk in this spool."""
        return self._size

    def _segment_paths(self) -> list[Path]:
        return sorted(self.directory.glob("*.spool"))

    def pending(self) -> list[Path]:
        """Closed segments waiting for replay, oldest first."""
        return [p for p in self._segment_paths() if p != self._current_path]

    def is_empty(self) -> bool:
        return self._size == 0

    # -- writing -----------------------------------------------------------------
    def append(self, records: Sequence[SpoolRecord]) -> None:
        """Write a batch; durable (fsync) when this returns if ``fsync`` is on.
        Raises :class:`SpoolFull` or :class:`SpoolError`; then nothing may be acked."""
        data = b"".join(encode_record(r) for r in records)
        if self._size + len(data) > self.max_bytes:
            raise SpoolFull(
                f"spool {self.directory} would exceed ingest.spool_max_bytes="
                f"{self.max_bytes} ({self._size} used); frames are not acked until it drains"
            )
        path: Path | None = None
        good = 0
        try:
            fh = self._open_segment(len(data))
            path, good = self._current_path, self._current_size
            fh.write(data)
            fh.flush()
            if self.fsync:
                os.fsync(fh.fileno())
        except OSError as exc:
            self._close_current()
            self._discard_torn(path, good)
            raise SpoolError(f"cannot write spool {self.directory}: {exc}") from exc
        self._size += len(data)
        self._current_size += len(data)

    def _open_segment(self, incoming: int) -> BinaryIO:
        if self._current is not None and self._current_size + incoming <= _SEGMENT_BYTES:
            return self._current
        self._close_current()
        paths = self._segment_paths()
        number = int(paths[-1].stem) + 1 if paths else 1
        path = self.directory / f"{number:012d}.spool"
        self._current = open(path, "ab")  # noqa: SIM115 - kept open across appends
        self._current_path = path
        self._current_size = 0
        return self._current

    def _close_current(self) -> None:
        if self._current is not None:
            try:
                # a full disk fails the flush inside close(): what did not reach the file is a
                # torn tail the reader skips — those frames were never acked
                with contextlib.suppress(OSError):
                    self._current.close()
            finally:
                self._current = None
                self._current_path = None
                self._current_size = 0

    @staticmethod
    def _discard_torn(path: Path | None, good: int) -> None:
        """After a failed write: cut the segment back to its last whole record (or remove
        it if nothing was in it), so no empty or torn segment is left behind."""
        if path is None:
            return
        with contextlib.suppress(OSError):
            if good == 0:
                path.unlink()
            else:
                os.truncate(path, good)

    def seal(self) -> None:
        """Close the segment being written so replay can take it."""
        self._close_current()

    def close(self) -> None:
        self._close_current()

    # -- replay --------------------------------------------------------------
    @staticmethod
    def read(path: Path) -> Iterator[SpoolRecord]:
        """The records of a segment; stops quietly at a torn tail (logged)."""
        with open(path, "rb") as fh:
            data = fh.read()
        pos = 0
        n = len(data)
        while pos < n:
            if n - pos < _HEAD.size + _CRC.size:
                break
            magic, version, _, length, received_at, station_id = _HEAD.unpack_from(data, pos)
            end = pos + _HEAD.size + length
            if magic != _MAGIC or version != _VERSION or end + _CRC.size > n:
                break
            (crc,) = _CRC.unpack_from(data, end)
            if crc != zlib.crc32(data[pos:end]):
                break
            yield SpoolRecord(received_at, station_id, data[pos + _HEAD.size : end])
            pos = end + _CRC.size
        if pos < n:
            log.warning("spool %s: ignoring a torn tail of %d bytes (never acked)", path, n - pos)

    def remove(self, path: Path) -> None:
        """Delete a replayed segment."""
        size = path.stat().st_size
        path.unlink()
        self._size = max(0, self._size - size)
