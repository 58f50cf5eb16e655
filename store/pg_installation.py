"""The PostgreSQL server installation the embedded cluster runs from.

:func:`find_installation` looks for the server binaries in ``database.embedded_bindir``,
then ``pg_config --bindir``, then the newest ``/usr/lib/postgresql/<N>/bin`` (an existing
cluster prefers its own major version).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = [
    "BinariesNotFoundError",
    "EmbeddedError",
    "PgInstallation",
    "find_installation",
    "timescaledb_available",
]

_DEB_ROOT: Final = Path("/usr/lib/postgresql")
#: what a bindir must hold to run a cluster
SERVER_TOOLS: Final = ("initdb", "pg_ctl", "postgres", "psql")


class EmbeddedError(RuntimeError):
    """The embedded cluster could not be set up, started or stopped; the message says why."""


class BinariesNotFoundError(EmbeddedError):
    """No PostgreSQL server binaries (initdb, pg_ctl, postgres) were found."""


@dataclass(frozen=True, slots=True)
class PgInstallation:
    bindir: Path
    pkglibdir: Path
    sharedir: Path
    version: str  # "15.18"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def tool(self, name: str) -> str:
        return str(self.bindir / name)

    def has_library(self, name: str) -> bool:
        return (self.pkglibdir / f"{name}.so").is_file()

    def has_extension(self, name: str) -> bool:
        return (self.sharedir / "extension" / f"{name}.control").is_file()


def _has_server_tools(bindir: Path) -> bool:
    return all(os.access(bindir / tool, os.X_OK) for tool in SERVER_TOOLS)


def _pg_config_bindir() -> Path | None:
    exe = shutil.which("pg_config", path=os.defpath)
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "--bindir"], capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.stdout.strip()) if out.stdout.strip() else None


def _candidate_bindirs(prefer_major: int | None) -> list[Path]:
    found: list[Path] = []
    if prefer_major is not None:
        found.append(_DEB_ROOT / str(prefer_major) / "bin")
    from_pg_config = _pg_config_bindir()
    if from_pg_config is not None:
        found.append(from_pg_config)
    with contextlib.suppress(OSError):
        majors = sorted(
            (int(p.name) for p in _DEB_ROOT.iterdir() if p.name.isdigit()), reverse=True
        )
        found.extend(_DEB_ROOT / str(m) / "bin" for m in majors)
    return found


def _describe(bindir: Path) -> PgInstallation:
    version_out = subprocess.run(
        [str(bindir / "postgres"), "--version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout
    match = re.search(r"(\d+(?:\.\d+)?)", version_out)
    if match is None:
        raise EmbeddedError(f"cannot parse the PostgreSQL version from {version_out!r}")
    version = match.group(1)
    major = version.split(".")[0]
    pkglibdir, sharedir = bindir.parent / "lib", Path(f"/usr/share/postgresql/{major}")
    pg_config = bindir / "pg_config"
    if os.access(pg_config, os.X_OK):
        lines = subprocess.run(
            [str(pg_config), "--pkglibdir", "--sharedir"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.splitlines()
        if len(lines) == 2:
            pkglibdir, sharedir = Path(lines[0]), Path(lines[1])
    return PgInstallation(bindir, pkglibdir, sharedir, version)


def find_installation(
    bindir: Path | None = None, *, prefer_major: int | None = None
) -> PgInstallation:
    """Locate PostgreSQL server binaries: ``bindir``, else ``pg_config --bindir``, else the
    newest ``/usr/lib/postgresql/<N>/bin`` (``prefer_major`` first when given)."""
    if bindir is not None:
        if not _has_server_tools(bindir):
            raise BinariesNotFoundError(
                f"{bindir} does not contain the PostgreSQL server binaries"
                f" ({', '.join(SERVER_TOOLS)}); fix database.embedded_bindir"
            )
        return _describe(bindir)
    tried: list[str] = []
    for candidate in _candidate_bindirs(prefer_major):
        if _has_server_tools(candidate):
            return _describe(candidate)
        tried.append(str(candidate))
    raise BinariesNotFoundError(
        "PostgreSQL server binaries not found; install postgresql-15 (or newer) —"
        " e.g. `apt-get install postgresql-15` — or set database.embedded_bindir, or set"
        " database.dsn to use an existing server"
        + (f" (looked in: {', '.join(dict.fromkeys(tried))})" if tried else "")
    )


def timescaledb_available(bindir: Path) -> bool:
    """True if the TimescaleDB extension is installed for the server in ``bindir``."""
    installation = _describe(bindir)
    return installation.has_extension("timescaledb") and installation.has_library("timescaledb")


# --------------------------------------------------------------------------
# Tuning
# --------------------------------------------------------------------------
