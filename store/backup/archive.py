"""The backup file: one uncompressed tar (the dump inside is already compressed, photos
are JPEG), mode 0600, written in one pass.

Theory of operation
-------------------
A tar header states the member's size, which a pipe (``pg_dump`` writing the dump) does
not know in advance.  :meth:`ArchiveWriter.add_stream` therefore writes a placeholder
header block, streams the data (hashing it with SHA-256 and reporting progress), pads
it to the block size, and then seeks back and writes the real header — so a dump of any
size goes straight into the archive without a temporary copy.  Streamed members have
short names (one 512-byte GNU header, sizes beyond 8 GiB in base-256).  Other members
(uploads, configuration, key) are files or bytes of known size.  The manifest
(:mod:`store.backup.manifest`) is written last, with every member's size and SHA-256.

:class:`ArchiveReader` reads only members the manifest names, checks each one's SHA-256
while copying it out, and never lets a member name choose a path outside the target
directory (no absolute names, no ``..``, regular files only).
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Final

from store.backup.manifest import MANIFEST_NAME, BackupInputError, Manifest, Member

__all__ = ["ArchiveReader", "ArchiveWriter", "safe_relative"]

BLOCK: Final = tarfile.BLOCKSIZE
CHUNK: Final = 1 << 20
Advance = Callable[[int], None]


def _no_progress(amount: int) -> None:
    return None


def safe_relative(name: str) -> PurePosixPath:
    """``name`` as a relative path that stays inside its directory, else BackupInputError."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or any(p in ("..", "") for p in path.parts):
        raise BackupInputError(f"the archive holds an unsafe member name {name!r}; refusing it")
    return path


class ArchiveWriter:
    """Writes a new archive at ``path`` (which must not exist), mode 0600."""

    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.fchmod(fd, 0o600)  # whatever the umask
        self.path = path
        self._fh: IO[bytes] = os.fdopen(fd, "wb")
        self.members: list[Member] = []

    def _info(self, name: str, size: int, mode: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, mode, int(time.time())
        info.uname = info.gname = "envgrid"
        return info

    def _body(self, chunks: Iterable[bytes], advance: Advance) -> tuple[int, str]:
        digest = hashlib.sha256()
        size = 0
        for chunk in chunks:
            self._fh.write(chunk)
            digest.update(chunk)
            size += len(chunk)
            advance(len(chunk))
        self._fh.write(b"\0" * (-size % BLOCK))
        return size, digest.hexdigest()

    def add_stream(
        self,
        name: str,
        chunks: Iterable[bytes],
        *,
        mode: int = 0o600,
        advance: Advance = _no_progress,
    ) -> Member:
        """A member of unknown size, from ``chunks``."""
        start = self._fh.tell()
        self._fh.write(b"\0" * BLOCK)
        size, sha = self._body(chunks, advance)
        end = self._fh.tell()
        header = self._info(name, size, mode).tobuf(tarfile.GNU_FORMAT, "utf-8", "strict")
        if len(header) != BLOCK:
            raise ValueError(f"streamed member names must be short (got {name!r})")
        self._fh.seek(start)
        self._fh.write(header)
        self._fh.seek(end)
        member = Member(name, size, sha)
        self.members.append(member)
        return member

    def add_bytes(self, name: str, data: bytes, *, mode: int = 0o600) -> Member:
        self._fh.write(self._info(name, len(data), mode).tobuf(tarfile.GNU_FORMAT, "utf-8"))
        size, sha = self._body([data], _no_progress)
        member = Member(name, size, sha)
        self.members.append(member)
        return member

    def add_file(
        self, path: Path, name: str, *, mode: int = 0o600, advance: Advance = _no_progress
    ) -> Member:
        with path.open("rb") as src:
            size = os.fstat(src.fileno()).st_size
            self._fh.write(self._info(name, size, mode).tobuf(tarfile.GNU_FORMAT, "utf-8"))
            written, sha = self._body(_limited(src, size), advance)
        member = Member(name, written, sha)
        self.members.append(member)
        return member

    def finish(self, manifest: Manifest) -> None:
        """Write the manifest and the end-of-archive blocks; fsync and close."""
        data = manifest.to_json()
        self._fh.write(self._info(MANIFEST_NAME, len(data), 0o600).tobuf(tarfile.GNU_FORMAT))
        self._body([data], _no_progress)
        self._fh.write(b"\0" * (2 * BLOCK))
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()

    def abort(self) -> None:
        """Close and delete the unfinished file."""
        self._fh.close()
        self.path.unlink(missing_ok=True)


def _limited(src: IO[bytes], size: int) -> Iterator[bytes]:
    """Exactly ``size`` bytes of ``src`` (a file that changes while read keeps its
    header's size: truncated data is padded with zeros, growth is cut)."""
    left = size
    while left > 0:
        chunk = src.read(min(CHUNK, left))
        if not chunk:
            yield b"\0" * left
            return
        left -= len(chunk)
        yield chunk


class ArchiveReader:
    """Reads an archive written by :class:`ArchiveWriter` (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._tar = tarfile.open(path, "r:")  # noqa: SIM115 (closed by close())
            self._by_name = {m.name: m for m in self._tar.getmembers()}
        except FileNotFoundError:
            raise BackupInputError(f"{path}: no such file") from None
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupInputError(
                f"{path} is not an envgrid backup (not a tar file: {exc})"
            ) from None
        if MANIFEST_NAME not in self._by_name:
            self._tar.close()
            raise BackupInputError(
                f"{path} is not an envgrid backup, or it is incomplete (no {MANIFEST_NAME})"
            )

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._tar.close()

    def manifest(self) -> Manifest:
        return Manifest.from_json(self._read(MANIFEST_NAME))

    def _read(self, name: str) -> bytes:
        handle = self._open(name)
        with handle:
            return handle.read()

    def _open(self, name: str) -> IO[bytes]:
        info = self._by_name.get(name)
        if info is None or not info.isreg():
            raise BackupInputError(f"{self.path}: the member {name!r} is missing or not a file")
        handle = self._tar.extractfile(info)
        assert handle is not None  # a regular file
        return handle

    def chunks(self, member: Member, advance: Advance = _no_progress) -> Iterator[bytes]:
        """The bytes of ``member``; BackupInputError at the end if size or SHA-256 differ."""
        digest = hashlib.sha256()
        size = 0
        with self._open(member.name) as src:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                advance(len(chunk))
                yield chunk
        if size != member.size or digest.hexdigest() != member.sha256:
            raise BackupInputError(
                f"{self.path}: {member.name} is damaged (size {size} of {member.size},"
                " SHA-256 differs); the backup cannot be trusted"
            )

    def read_member(self, member: Member) -> bytes:
        return b"".join(self.chunks(member))

    def extract(self, member: Member, target: Path, advance: Advance = _no_progress) -> None:
        """Copy ``member`` to ``target`` (mode 0600), checked; a damaged member leaves no
        file behind."""
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in self.chunks(member, advance):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            tmp.replace(target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def verify(self, manifest: Manifest, advance: Advance = _no_progress) -> None:
        """Read every member and check it against the manifest."""
        for member in manifest.members:
            # read to the end: chunks() raises BackupInputError there on a damaged member
            deque(self.chunks(member, advance), maxlen=0)
