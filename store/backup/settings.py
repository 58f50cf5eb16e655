"""Settings of backups (section ``[backup]`` of envgrid.toml)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from store.validation import is_hhmm, require

__all__ = ["BackupSettings", "redact"]

_URL_PASSWORD: Final = re.compile(r"(://[^:/@\s]*:)[^@\s]+@")
_PIECES: Final = re.compile(r"[\s=:,;'\"&|<>()]+")


@dataclass(frozen=True, slots=True)
class BackupSettings:
    """Backups: ``envgrid backup create|restore|list`` and the scheduled backup."""

    #: Daily backup at this wall-clock time (HH:MM in core.timezone), run by the one
    #: scheduler on the leader host; "" = no scheduled backup.  A failed run raises the
    #: alert 备份失败 (rule backup_failed); the next successful one resolves it.
    schedule: str = ""
    #: Backups kept in backup.dir: after a successful backup, the oldest beyond the
    #: newest N are deleted.
    keep: int = 7
    #: Where backups are written and listed (default data_dir/backups).  Each backup
    #: holds the secret key (core.secret_key_file), so this directory is sensitive.
    dir: Path | None = None
    #: Off-site copy after each scheduled backup: a command (no shell) with ``{file}``
    #: standing for the backup's path (appended when absent), e.g.
    #: "rclone copy {file} offsite:envgrid/".  A failing copy raises the alert too.
    copy_command: str = ""
    #: Seconds the copy command may run before it is killed.
    copy_timeout_s: float = 3600.0
    #: Exact row counts and checksums of every table in the manifest (read in pg_dump's
    #: snapshot, checked after a restore); false: estimated row counts only — faster
    #: on large databases.
    checksums: bool = True

    def __post_init__(self) -> None:
        if self.schedule:
            require(
                is_hhmm(self.schedule),
                f'backup.schedule must be HH:MM such as "02:30", or "" (got {self.schedule!r})',
            )
        require(self.keep >= 1, f"backup.keep must be ≥ 1 (got {self.keep})")
        require(
            self.copy_timeout_s > 0,
            f"backup.copy_timeout_s must be > 0 (got {self.copy_timeout_s})",
        )
        if self.copy_command:
            try:
                words = shlex.split(self.copy_command)
            except ValueError as exc:
                words = []
                require(False, f"backup.copy_command cannot be parsed: {exc}")
            require(bool(words), 'backup.copy_command is blank; use "" for no copy')

    def directory(self, data_dir: Path) -> Path:
        """Where backups go: ``dir``, else ``data_dir/backups``."""
        return self.dir if self.dir is not None else data_dir / "backups"

    def copy_argv(self, file: Path) -> list[str]:
        """The copy command's arguments for ``file`` (``[]`` when none is configured)."""
        if not self.copy_command:
            return []
        words = shlex.split(self.copy_command)
        if any("{file}" in w for w in words):
            return [w.replace("{file}", str(file)) for w in words]
        return [*words, str(file)]


def redact(text: str | None, backup: BackupSettings) -> str | None:
    """``text`` without URL passwords and without any piece (6+ characters) of the copy
    command but the program — a token or password in it stays out of the run's error, the
    备份失败 alert (its reason goes to every receiver of the route and the alert pages) and
    the log, even when the command echoes it in its error output."""
    if not text:
        return text
    out = _URL_PASSWORD.sub(r"\1***@", text)
    pieces = _PIECES.split(backup.copy_command)[1:] if backup.copy_command else []
    for piece in sorted(set(pieces), key=len, reverse=True):
        if len(piece) >= 6 and "{file}" not in piece:
            out = out.replace(piece, "***")
    return out
