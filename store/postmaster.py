"""The embedded cluster's server as an operating-system process: the account its
binaries run as (``initdb`` and ``postgres`` refuse root), its PID and lock files, its
port, and running its tools."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import pwd
import socket
import stat
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from store.pg_installation import EmbeddedError

__all__ = [
    "ServerAccount",
    "clear_stale_locks",
    "cluster_lock",
    "failure_details",
    "is_postmaster_of",
    "pid_alive",
    "pidfile_field",
    "port_free",
    "prepare_dirs",
    "run_tool",
    "running_pid",
    "server_account",
    "tail",
]

log = logging.getLogger("store.embedded")

#: Linux PIDs are < pid_max ≤ 2**22, so no process can have this one.
_IMPOSSIBLE_PID: Final = 1 << 22


@dataclass(frozen=True, slots=True)
class ServerAccount:
    name: str
    uid: int
    gid: int


def server_account(os_user: str) -> ServerAccount | None:
    """The OS account for server binaries when we are root, else None (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(os_user)
    except KeyError:
        raise EmbeddedError(
            "running as root, but PostgreSQL refuses to run as root and the OS account"
            f" {os_user!r} does not exist; create it (useradd --system"
            f" {os_user}) or set database.embedded_os_user to an existing account"
        ) from None
    if entry.pw_uid == 0:
        raise EmbeddedError(
            f"database.embedded_os_user {os_user!r} is root; name an unprivileged account"
        )
    return ServerAccount(entry.pw_name, entry.pw_uid, entry.pw_gid)


def prepare_dirs(data_dir: Path, subdirs: Sequence[Path], account: ServerAccount | None) -> None:
    """Create ``data_dir`` and its private ``subdirs``; when the server runs as another
    account, give them to it and check it can reach ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for sub in subdirs:
        sub.mkdir(mode=0o700, exist_ok=True)
    if account is None:
        return
    for path in (data_dir, *subdirs):
        st = path.stat()
        if (st.st_uid, st.st_gid) != (account.uid, account.gid):
            os.chown(path, account.uid, account.gid)
    data_dir.chmod(0o700)
    for parent in data_dir.parents:
        st = parent.stat()
        reachable = (
            (st.st_uid == account.uid and st.st_mode & stat.S_IXUSR)
            or (st.st_gid == account.gid and st.st_mode & stat.S_IXGRP)
            or st.st_mode & stat.S_IXOTH
        )
        if not reachable:
            raise EmbeddedError(
                f"the OS account {account.name!r} that runs PostgreSQL cannot enter {parent}"
                f" (mode {stat.filemode(st.st_mode)}); run `chmod o+x {parent}` or set"
                " core.data_dir to a directory it can reach"
            )


def run_tool(
    args: Sequence[str],
    *,
    home: Path,
    account: ServerAccount | None,
    timeout: float,
    check: bool,
    stdin: str | None,
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool in ``home`` in a new session (Ctrl-C in the terminal does not
    reach it), as ``account`` when given, in a plain C/UTC environment plus ``extra_env``
    (e.g. ``PGPASSWORD``: the environment is private to the process, the command line is
    not)."""
    env = {
        "PATH": os.defpath,
        "LC_ALL": "C",
        "LANG": "C",
        "TZ": "UTC",
        "HOME": str(home),
        "PGCONNECT_TIMEOUT": "5",
        **(extra_env or {}),
    }
    try:
        done = subprocess.run(
            list(args),
            input=stdin,
            capture_output=True,
            text=True,
            cwd=home,
            env=env,
            timeout=timeout,
            start_new_session=True,
            user=account.uid if account else None,
            group=account.gid if account else None,
            extra_groups=[] if account else None,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise EmbeddedError(f"{Path(args[0]).name} did not finish in {timeout:.0f}s") from None
    if check and done.returncode != 0:
        output = (done.stderr or done.stdout).strip()
        raise EmbeddedError(f"{Path(args[0]).name} failed (exit {done.returncode}): {output}")
    return done


def _proc_cwd(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def port_free(host: str, port: int) -> bool:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return True  # postgres will report the bad address itself
    for family, kind, proto, _name, addr in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as postgres does
            try:
                probe.bind(addr)
            except OSError:
                return False
    return True


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def cluster_lock(data_dir: Path) -> Iterator[None]:
    """The flock on ``data_dir/.lock``, held while starting or stopping."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def failure_details(startup_log: Path, log_dir: Path) -> str:
    """The end of the startup log and of the newest server log (errors after the
    logging collector took over land in the latter)."""
    parts = [tail(startup_log, 8)]
    server_logs = sorted(log_dir.glob("postgresql-*.log"), key=lambda p: p.stat().st_mtime)
    if server_logs:
        parts.append(tail(server_logs[-1], 8))
    return "\n".join(p for p in parts if p)


def pidfile_field(pgdata: Path, index: int) -> str | None:
    """Line ``index`` of ``postmaster.pid`` (0: the PID, 3: the port), if there."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    return lines[index].strip() if len(lines) > index else None


def running_pid(pgdata: Path) -> int | None:
    """PID of the postmaster serving ``pgdata``, or None (a stale pid file counts as None)."""
    pid = pidfile_field(pgdata, 0)
    if pid is None or not pid.isdigit():
        return None
    return int(pid) if is_postmaster_of(int(pid), pgdata) else None


def is_postmaster_of(pid: int, pgdata: Path) -> bool:
    """True if ``pid`` is a live process working in ``pgdata`` (a postmaster chdirs there)."""
    cwd = _proc_cwd(pid)
    if cwd is None:
        # Gone, a zombie, or not ours to inspect.  Without /proc, trust liveness alone.
        return not Path("/proc/self").exists() and pid_alive(pid)
    return cwd == pgdata.resolve()


def clear_stale_locks(pgdata: Path, socket_dir: Path) -> None:
    """Defuse lock files that would stop postgres although our postmaster is gone.

    Postgres takes over a lock file whose PID is dead, and then also frees the shared
    memory the old postmaster left (its key is in ``postmaster.pid``).  But after a
    reboot or in a container the PID may belong to another live process (or an
    unreaped zombie) and postgres refuses to start.  We know better — no process
    works in our PGDATA — so we replace that PID by one that cannot exist, and let
    postgres clean up as after any crash.
    """
    locks = [pgdata / "postmaster.pid", *socket_dir.glob(".s.PGSQL.*.lock")]
    for lock in locks:
        try:
            text = lock.read_text()
        except OSError:
            continue
        first, sep, rest = text.partition("\n")
        if first.strip().isdigit() and (
            not pid_alive(int(first)) or is_postmaster_of(int(first), pgdata)
        ):
            continue
        log.warning(
            "defusing stale %s: PID %s is not a postmaster of this cluster (the previous"
            " run crashed or the machine rebooted, and the PID now belongs to another"
            " process)",
            lock,
            first.strip() or "?",
        )
        if first.strip().isdigit():
            lock.write_text(f"{_IMPOSSIBLE_PID}{sep}{rest}")
        else:
            lock.unlink(missing_ok=True)  # garbage: postgres would call it bogus
