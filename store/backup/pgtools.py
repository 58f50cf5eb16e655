"""``pg_dump`` and ``pg_restore``, run from the PostgreSQL installation the embedded
cluster uses (:func:`store.pg_installation.find_installation`), with the password in
their environment, never on the command line (``ps`` shows it to every local user)."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from store.backup.manifest import BackupError
from store.pg_auth import split_password
from store.pg_installation import PgInstallation, find_installation

__all__ = ["client_installation", "dump_chunks", "restore_dump", "tool_version"]

CHUNK: Final = 1 << 20
#: pg_restore errors that leave the data whole: comments on extensions the restoring
#: role does not own (an external server where envgrid is not the superuser).
IGNORABLE: Final = (re.compile(r"must be owner of extension"),)
_STDERR_TAIL: Final = 2000


def client_installation(bindir: Path | None, server_major: int) -> PgInstallation:
    """The binaries to dump/restore a server of ``server_major`` with; pg_dump must not be
    older than the server."""
    inst = find_installation(bindir, prefer_major=server_major)
    if inst.major < server_major:
        raise BackupError(
            f"pg_dump {inst.version} ({inst.bindir}) cannot dump a PostgreSQL {server_major}"
            f" server; install postgresql-{server_major} (or newer) or set"
            " database.embedded_bindir"
        )
    return inst


def tool_version(inst: PgInstallation, tool: str) -> str:
    out = subprocess.run(
        [inst.tool(tool), "--version"], capture_output=True, text=True, check=True, timeout=10
    ).stdout
    match = re.search(r"(\d+(?:\.\d+)?)", out)
    return match.group(1) if match else out.strip()


def _env(password: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PGPASSWORD", None)
    if password is not None:
        env["PGPASSWORD"] = password
    return env


def _tail(stderr: Path) -> str:
    text = stderr.read_text(errors="replace").strip()
    return text[-_STDERR_TAIL:]


def dump_chunks(inst: PgInstallation, dsn: str, snapshot_id: str) -> Iterator[bytes]:
    """The custom-format dump (``pg_dump -Fc``) of ``dsn`` as of ``snapshot_id``, in
    chunks; BackupError (with pg_dump's message) if it fails."""
    plain, password = split_password(dsn)
    args = [inst.tool("pg_dump"), "--format=custom", "--no-password", f"--dbname={plain}"]
    if snapshot_id:
        args.append(f"--snapshot={snapshot_id}")
    with tempfile.TemporaryDirectory(prefix="envgrid-pg_dump-") as tmp:
        errors = Path(tmp) / "stderr"
        with errors.open("wb") as err:
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, env=_env(password))
        assert proc.stdout is not None
        try:
            while chunk := proc.stdout.read(CHUNK):
                yield chunk
            code = proc.wait()
        finally:
            if proc.poll() is None:  # the consumer gave up: stop pg_dump
                proc.kill()
                proc.wait()
            proc.stdout.close()
        if code != 0:
            raise BackupError(f"pg_dump failed (exit {code}): {_tail(errors)}")


def restore_dump(inst: PgInstallation, dsn: str, dump: Path, *, jobs: int = 1) -> list[str]:
    """``pg_restore`` ``dump`` into ``dsn`` (objects owned by the connecting role);
    returns the ignorable errors, raises BackupError for any other."""
    plain, password = split_password(dsn)
    args = [
        inst.tool("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--no-password",
        f"--dbname={plain}",
    ]
    if jobs > 1:
        args.append(f"--jobs={jobs}")
    args.append(str(dump))
    done = subprocess.run(args, capture_output=True, text=True, env=_env(password), check=False)
    if done.returncode == 0:
        return []
    errors = [
        line.removeprefix("pg_restore: error: ")
        for line in done.stderr.splitlines()
        if line.startswith("pg_restore: error:")
    ]
    serious = [e for e in errors if not any(p.search(e) for p in IGNORABLE)]
    if serious or not errors:
        detail = "; ".join(serious[:5]) or done.stderr.strip()[-_STDERR_TAIL:]
        raise BackupError(f"pg_restore failed (exit {done.returncode}): {detail}")
    return errors
