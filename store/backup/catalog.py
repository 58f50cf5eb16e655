"""The backups in a directory: listing (``envgrid backup list``) and keeping the newest
``backup.keep`` (older ones deleted after a successful scheduled backup)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from store.backup.archive import ArchiveReader
from store.backup.create import NAME_PREFIX, NAME_SUFFIX
from store.backup.manifest import BackupError, Manifest

__all__ = ["BackupEntry", "list_backups", "prune_backups", "to_remove"]


@dataclass(frozen=True, slots=True)
class BackupEntry:
    path: Path
    size: int
    manifest: Manifest | None
    #: why the manifest could not be read (an incomplete or foreign file)
    error: str = ""


def _candidates(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(
        p
        for p in directory.iterdir()
        if p.name.startswith(NAME_PREFIX) and p.name.endswith(NAME_SUFFIX) and p.is_file()
    )


def list_backups(directory: Path) -> list[BackupEntry]:
    """Every ``envgrid-*.tar`` in ``directory``, oldest first, with its manifest."""
    out = []
    for path in _candidates(directory):
        size = path.stat().st_size
        try:
            with ArchiveReader(path) as reader:
                out.append(BackupEntry(path, size, reader.manifest()))
        except BackupError as exc:
            out.append(BackupEntry(path, size, None, str(exc)))
    return out


def to_remove(names: Sequence[str], keep: int) -> list[str]:
    """The names beyond the newest ``keep`` (names sort by time)."""
    ordered = sorted(names)
    return ordered[: max(len(ordered) - keep, 0)]


def prune_backups(directory: Path, keep: int) -> list[Path]:
    """Delete the backups older than the newest ``keep``; return what was deleted."""
    paths = {p.name: p for p in _candidates(directory)}
    removed = []
    for name in to_remove(list(paths), keep):
        paths[name].unlink(missing_ok=True)
        removed.append(paths[name])
    return removed
