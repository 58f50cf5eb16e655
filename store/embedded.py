"""A private PostgreSQL cluster in envgrid's data directory.

Theory of operation
-------------------
With no ``database.dsn`` configured, envgrid runs its own cluster from the
PostgreSQL server binaries installed on the machine.  Layout under
``data_dir`` (normally ``core.data_dir/pg``)::

    data/            PGDATA (initdb), with our ``envgrid.conf`` included last
    run/             unix socket and its lock file
    log/startup.log  pg_ctl's log of the last start (failures land here)
    log/postgresql-<Day>.log  the server log, rotated daily, kept a week
    .lock            flock taken while starting or stopping

``start()`` takes the flock, then:

1. finds the binaries (``database.embedded_bindir``, ``pg_config --bindir``, the
   newest ``/usr/lib/postgresql/<N>/bin``; an existing cluster prefers its own
   major version) and refuses a cluster made by another major version;
2. when running as root — ``initdb`` and ``postgres`` refuse root — runs every
   server binary as ``database.embedded_os_user`` (``postgres``), owns the data
   directory by it and checks that account can reach the directory;
3. on first use runs ``initdb -U envgrid --auth=trust -E UTF8 --locale=C.UTF-8``
   (``C`` if that locale is missing) and appends
   ``include_if_exists = 'envgrid.conf'`` to ``postgresql.conf``;
4. rewrites ``envgrid.conf`` from :func:`default_tuning` plus the caller's
   ``tuning`` (so a config change applies at the next start; ``ALTER SYSTEM``
   still wins, it lives in ``postgresql.auto.conf``);
5. if ``postmaster.pid`` names a live postgres whose working directory is our
   PGDATA, the cluster is already up: reuse it.  If it (or the socket lock file)
   names a live process that is not our postmaster — reboot, PID reuse, or an
   unreaped zombie after a crash — postgres would refuse to start, so that PID is
   replaced by an impossible one and postgres recovers as after any crash (and
   frees the old shared memory named in the file);
6. checks the port is free (clear error naming ``database.embedded_port``),
   runs ``pg_ctl start -w -t 300`` in a new session (Ctrl-C in the terminal does
   not reach the postmaster), then creates the ``envgrid`` database if missing.

It returns ``postgresql://envgrid@host:port/envgrid``.  Authentication is
``trust`` on loopback only (settings refuse a non-loopback ``embedded_host``).
``stop()`` is ``pg_ctl stop -m fast``; the context managers stop the cluster
only if they started it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final, Literal, Self

if TYPE_CHECKING:
    from store.settings import CoreSettings, DatabaseSettings

__all__ = [
    "DATABASE",
    "SUPERUSER",
    "BinariesNotFoundError",
    "EmbeddedError",
    "EmbeddedPostgres",
    "PgInstallation",
    "PortInUseError",
    "database_dsn",
    "default_tuning",
    "embedded_from_settings",
    "find_installation",
    "timescaledb_available",
]

log = logging.getLogger(__name__)

SUPERUSER: Final = "envgrid"
DATABASE: Final = "envgrid"
#: Generous: after a crash, recovery may replay up to max_wal_size (4GB) of WAL.
START_TIMEOUT_S: Final = 300
STOP_TIMEOUT_S: Final = 60
_DEB_ROOT: Final = Path("/usr/lib/postgresql")
_SERVER_TOOLS: Final = ("initdb", "pg_ctl", "postgres", "psql")
_UNIX_PATH_MAX: Final = 107  # sun_path minus the NUL
#: Linux PIDs are < pid_max ≤ 2**22, so no process can have this one.
_IMPOSSIBLE_PID: Final = 1 << 22
_GUC_NAME: Final = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")
ShutdownMode = Literal["smart", "fast", "immediate"]


class EmbeddedError(RuntimeError):
    """The embedded cluster could not be set up, started or stopped; the message says why."""


class BinariesNotFoundError(EmbeddedError):
    pass


class PortInUseError(EmbeddedError):
    pass


# --------------------------------------------------------------------------
# Finding the installation
# --------------------------------------------------------------------------


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
    return all(os.access(bindir / tool, os.X_OK) for tool in _SERVER_TOOLS)


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
                f" ({', '.join(_SERVER_TOOLS)}); fix database.embedded_bindir"
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


def _total_ram() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 4 << 30


def default_tuning(
    installation: PgInstallation, *, ram_bytes: int | None = None, cpus: int | None = None
) -> dict[str, str]:
    """``postgresql.conf`` settings for a write-heavy telemetry store on one machine."""
    ram_mb = (ram_bytes or _total_ram()) >> 20
    ncpu = cpus or os.cpu_count() or 2
    preload = [
        lib for lib in ("pg_stat_statements", "timescaledb") if installation.has_library(lib)
    ]
    tuning = {
        "max_connections": "200",
        "shared_buffers": f"{min(1024, ram_mb // 4)}MB",
        "effective_cache_size": f"{max(256, ram_mb // 2)}MB",
        "work_mem": "16MB",
        "maintenance_work_mem": f"{max(64, min(512, ram_mb // 16))}MB",
        "wal_buffers": "16MB",
        "max_wal_size": "4GB",
        "min_wal_size": "1GB",
        "checkpoint_timeout": "15min",
        "checkpoint_completion_target": "0.9",
        "synchronous_commit": "on",
        "wal_compression": "on",
        "random_page_cost": "1.1",
        "effective_io_concurrency": "200",
        "max_locks_per_transaction": "256",
        "max_worker_processes": str(max(16, ncpu + 8)),
        "max_parallel_workers": str(ncpu),
        "max_parallel_workers_per_gather": str(max(1, ncpu // 2)),
        "jit": "off",
        "autovacuum_vacuum_cost_limit": "1000",
        "timezone": "UTC",
        "log_timezone": "UTC",
        "lc_messages": "C",
        "logging_collector": "on",
        "log_filename": "postgresql-%a.log",
        "log_truncate_on_rotation": "on",
        "log_rotation_age": "1d",
        "log_rotation_size": "0",
        "log_line_prefix": "%m [%p] %q%u@%d ",
        "log_min_duration_statement": "2s",
        "log_lock_waits": "on",
        "log_checkpoints": "on",
        "shared_preload_libraries": ",".join(preload),
    }
    if "timescaledb" in preload:
        tuning["timescaledb.telemetry_level"] = "off"
        tuning["timescaledb.max_background_workers"] = "8"
    return tuning


def _conf_quote(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise EmbeddedError(f"postgresql.conf value {value!r} must be on one line")
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


# --------------------------------------------------------------------------
# Process helpers
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Account:
    name: str
    uid: int
    gid: int


def _proc_cwd(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _port_free(host: str, port: int) -> bool:
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


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------
# The cluster
# --------------------------------------------------------------------------


class EmbeddedPostgres:
    """A PostgreSQL cluster owned by envgrid under ``data_dir``.  See the module docstring."""

    def __init__(
        self,
        data_dir: Path,
        host: str = "127.0.0.1",
        port: int = 55432,
        *,
        tuning: Mapping[str, str] | None = None,
        bindir: Path | None = None,
        os_user: str = "postgres",
        database: str = DATABASE,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.host = host
        self.port = port
        self.database = database
        self._tuning = dict(tuning or {})
        for key in self._tuning:
            if not _GUC_NAME.match(key):
                raise EmbeddedError(f"{key!r} is not a valid postgresql.conf setting name")
        self._bindir = bindir
        self._os_user = os_user
        self._installation: PgInstallation | None = None
        self._started_here = False

    # -- paths and identity --------------------------------------------------

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "log"

    @property
    def startup_log(self) -> Path:
        return self.log_dir / "startup.log"

    @property
    def dsn(self) -> str:
        return self.dsn_for(self.database)

    def dsn_for(self, database: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"postgresql://{SUPERUSER}@{host}:{self.port}/{database}"

    @property
    def installation(self) -> PgInstallation:
        if self._installation is None:
            self._installation = find_installation(self._bindir, prefer_major=self._cluster_major())
        return self._installation

    def _cluster_major(self) -> int | None:
        try:
            return int((self.pgdata / "PG_VERSION").read_text().strip())
        except (OSError, ValueError):
            return None

    def is_initialized(self) -> bool:
        return (self.pgdata / "PG_VERSION").is_file()

    def _is_our_postmaster(self, pid: int) -> bool:
        """True if ``pid`` is a live process working in our PGDATA (a postmaster chdirs there)."""
        cwd = _proc_cwd(pid)
        if cwd is None:
            # Gone, a zombie, or not ours to inspect.  Without /proc, trust liveness alone.
            return not Path("/proc/self").exists() and _pid_alive(pid)
        return cwd == self.pgdata.resolve()

    def _running_pid(self) -> int | None:
        """PID of the postmaster serving our PGDATA, or None (a stale pid file counts as None)."""
        pid = self._pidfile_field(0)
        if pid is None or not pid.isdigit():
            return None
        return int(pid) if self._is_our_postmaster(int(pid)) else None

    def _pidfile_field(self, index: int) -> str | None:
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return None
        return lines[index].strip() if len(lines) > index else None

    def is_running(self) -> bool:
        return self._running_pid() is not None

    # -- running commands ----------------------------------------------------

    def _account(self) -> _Account | None:
        """The OS account for server binaries when we are root, else None (run as ourselves)."""
        if os.geteuid() != 0:
            return None
        try:
            entry = pwd.getpwnam(self._os_user)
        except KeyError:
            raise EmbeddedError(
                "running as root, but PostgreSQL refuses to run as root and the OS account"
                f" {self._os_user!r} does not exist; create it (useradd --system"
                f" {self._os_user}) or set database.embedded_os_user to an existing account"
            ) from None
        if entry.pw_uid == 0:
            raise EmbeddedError(
                f"database.embedded_os_user {self._os_user!r} is root; name an unprivileged account"
            )
        return _Account(entry.pw_name, entry.pw_uid, entry.pw_gid)

    def _env(self) -> dict[str, str]:
        return {
            "PATH": os.defpath,
            "LC_ALL": "C",
            "LANG": "C",
            "TZ": "UTC",
            "HOME": str(self.data_dir),
            "PGCONNECT_TIMEOUT": "5",
        }

    def _run(
        self,
        args: Sequence[str],
        *,
        as_server: bool = True,
        timeout: float = 120,
        check: bool = True,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        account = self._account() if as_server else None
        try:
            done = subprocess.run(
                list(args),
                input=stdin,
                capture_output=True,
                text=True,
                cwd=self.data_dir,
                env=self._env(),
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

    # -- directories and permissions -----------------------------------------

    def _prepare_dirs(self, account: _Account | None) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for sub in (self.socket_dir, self.log_dir):
            sub.mkdir(mode=0o700, exist_ok=True)
        if account is None:
            return
        for path in (self.data_dir, self.socket_dir, self.log_dir):
            st = path.stat()
            if (st.st_uid, st.st_gid) != (account.uid, account.gid):
                os.chown(path, account.uid, account.gid)
        self.data_dir.chmod(0o700)
        for parent in self.data_dir.parents:
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

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with (self.data_dir / ".lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- initdb and configuration --------------------------------------------

    def _initdb(self) -> None:
        inst = self.installation
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise EmbeddedError(
                f"{self.pgdata} is not empty but holds no PostgreSQL cluster (no PG_VERSION);"
                " move it away or set core.data_dir to another directory"
            )
        log.info("initialising PostgreSQL %s cluster in %s", inst.version, self.pgdata)
        t0 = time.monotonic()
        base = [
            inst.tool("initdb"),
            "-D",
            str(self.pgdata),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--data-checksums",
        ]
        if self._tuning.get("fsync", "").lower() in ("off", "false", "0"):
            base.append("--no-sync")  # throwaway clusters (tests): skip the fsync pass
        try:
            self._run([*base, "--locale=C.UTF-8"])
        except EmbeddedError as exc:
            if "locale" not in str(exc).lower():
                raise
            log.info("locale C.UTF-8 is not available; initialising with locale C")
            self._run([*base, "--locale=C"])
        with (self.pgdata / "postgresql.conf").open("a") as fh:
            fh.write("\n# envgrid: generated settings, rewritten at every start\n")
            fh.write("include_if_exists = 'envgrid.conf'\n")
        log.info("cluster initialised in %.1fs", time.monotonic() - t0)

    def _write_conf(self, account: _Account | None) -> dict[str, str]:
        inst = self.installation
        settings = default_tuning(inst)
        socket_dir = str(self.socket_dir)
        socket_path_len = len(socket_dir) + len(f"/.s.PGSQL.{self.port}")
        if socket_path_len > _UNIX_PATH_MAX:
            log.info("socket path under %s is too long for a unix socket; TCP only", socket_dir)
            socket_dir = ""
        settings |= {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": socket_dir,
            "log_directory": str(self.log_dir),
        }
        settings |= {key.lower(): str(value) for key, value in self._tuning.items()}
        lines = [
            "# Written by envgrid at every start of the embedded cluster; edits are lost.",
            "# Set database.embedded_tuning in envgrid.toml instead (or use ALTER SYSTEM).",
            *(f"{key} = {_conf_quote(value)}" for key, value in sorted(settings.items())),
        ]
        path = self.pgdata / "envgrid.conf"
        tmp = path.with_suffix(".conf.tmp")
        tmp.write_text("\n".join(lines) + "\n")
        if account is not None:
            os.chown(tmp, account.uid, account.gid)
        tmp.replace(path)
        return settings

    # -- start / stop --------------------------------------------------------

    def start(self) -> str:
        """Initialise if needed, start if not running, ensure the database; return its DSN."""
        with self._locked():
            return self._start_locked()

    def _start_locked(self) -> str:
        account = self._account()
        self._prepare_dirs(account)
        major = self._cluster_major()
        inst = self.installation
        if major is not None and major != inst.major:
            raise EmbeddedError(
                f"the cluster in {self.pgdata} was created by PostgreSQL {major}, but the"
                f" binaries in {inst.bindir} are PostgreSQL {inst.major}; install"
                f" postgresql-{major} (or set database.embedded_bindir), or pg_upgrade the cluster"
            )
        if not self.is_initialized():
            self._initdb()
        pid = self._running_pid()
        if pid is not None:
            running_port = self._pidfile_field(3)
            if running_port and running_port.isdigit() and int(running_port) != self.port:
                log.warning(
                    "embedded cluster is already running on port %s, not the configured %d;"
                    " using it (restart it with `envgrid db stop` to apply the new port)",
                    running_port,
                    self.port,
                )
                self.port = int(running_port)
            log.info("embedded PostgreSQL already running (pid %d) in %s", pid, self.pgdata)
            self._ensure_database()
            return self.dsn
        self._clear_stale_locks()
        if not _port_free(self.host, self.port):
            raise PortInUseError(
                f"cannot start the embedded PostgreSQL: port {self.port} on {self.host} is"
                " already in use by another program; set database.embedded_port"
                " (ENVGRID_DATABASE__EMBEDDED_PORT) to a free port, or set database.dsn to use"
                " that server"
            )
        settings = self._write_conf(account)
        self.startup_log.write_text("")
        if account is not None:
            os.chown(self.startup_log, account.uid, account.gid)
        t0 = time.monotonic()
        done = self._run(
            [
                inst.tool("pg_ctl"),
                "start",
                "-D",
                str(self.pgdata),
                "-w",
                "-t",
                str(START_TIMEOUT_S),
                "-l",
                str(self.startup_log),
            ],
            timeout=START_TIMEOUT_S + 15,
            check=False,
        )
        if done.returncode != 0:
            details = self._failure_details() or (done.stderr or done.stdout).strip()
            if "could not bind" in details or "Address already in use" in details:
                raise PortInUseError(
                    f"the embedded PostgreSQL could not listen on {self.host}:{self.port}"
                    " (address in use); set database.embedded_port to a free port.\n" + details
                )
            if "did not start in time" in done.stdout + done.stderr:
                raise EmbeddedError(
                    f"the embedded PostgreSQL is not ready after {START_TIMEOUT_S}s (it may"
                    f" still be recovering from a crash); see the logs in {self.log_dir} and"
                    f" try again:\n{details}"
                )
            raise EmbeddedError(
                f"the embedded PostgreSQL failed to start (pg_ctl exit {done.returncode});"
                f" logs in {self.log_dir}:\n{details}"
            )
        self._started_here = True
        log.info(
            "embedded PostgreSQL %s started in %.1fs: %s:%d, data %s, logs %s,"
            " shared_buffers %s, preload [%s]",
            inst.version,
            time.monotonic() - t0,
            self.host,
            self.port,
            self.pgdata,
            self.log_dir,
            settings.get("shared_buffers"),
            settings.get("shared_preload_libraries"),
        )
        self._ensure_database()
        return self.dsn

    def _failure_details(self) -> str:
        """The end of the startup log and of the newest server log (errors after the
        logging collector took over land in the latter)."""
        parts = [_tail(self.startup_log, 8)]
        server_logs = sorted(self.log_dir.glob("postgresql-*.log"), key=lambda p: p.stat().st_mtime)
        if server_logs:
            parts.append(_tail(server_logs[-1], 8))
        return "\n".join(p for p in parts if p)

    def _clear_stale_locks(self) -> None:
        """Defuse lock files that would stop postgres although our postmaster is gone.

        Postgres takes over a lock file whose PID is dead, and then also frees the shared
        memory the old postmaster left (its key is in ``postmaster.pid``).  But after a
        reboot or in a container the PID may belong to another live process (or an
        unreaped zombie) and postgres refuses to start.  We know better — no process
        works in our PGDATA — so we replace that PID by one that cannot exist, and let
        postgres clean up as after any crash.
        """
        locks = [self.pgdata / "postmaster.pid", *self.socket_dir.glob(".s.PGSQL.*.lock")]
        for lock in locks:
            try:
                text = lock.read_text()
            except OSError:
                continue
            first, sep, rest = text.partition("\n")
            if first.strip().isdigit() and (
                not _pid_alive(int(first)) or self._is_our_postmaster(int(first))
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

    def _psql(self, database: str, sql: str, **variables: str) -> subprocess.CompletedProcess[str]:
        """Run ``sql`` (read from stdin, so ``:'name'`` interpolates ``variables``) via psql."""
        args = [self.installation.tool("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        for name, value in variables.items():
            args += ["-v", f"{name}={value}"]
        args += ["-d", self.dsn_for(database)]
        return self._run(args, as_server=False, timeout=30, check=False, stdin=sql)

    def _ensure_database(self) -> None:
        deadline = time.monotonic() + 15
        while True:
            done = self._psql(
                "postgres", "SELECT 1 FROM pg_database WHERE datname = :'db'", db=self.database
            )
            if done.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise EmbeddedError(
                    f"the embedded PostgreSQL on {self.host}:{self.port} does not accept"
                    f" connections: {done.stderr.strip()}"
                )
            time.sleep(0.1)
        if done.stdout.strip() == "1":
            return
        created = self._psql("postgres", 'CREATE DATABASE :"db"', db=self.database)
        if created.returncode != 0 and "already exists" not in created.stderr:
            raise EmbeddedError(
                f"cannot create database {self.database!r}: {created.stderr.strip()}"
            )
        log.info("created database %r", self.database)

    def stop(self, mode: ShutdownMode = "fast") -> None:
        """Stop the cluster if running: ``fast`` (default), ``smart`` or ``immediate``."""
        if mode not in ("smart", "fast", "immediate"):
            raise ValueError(f"shutdown mode must be smart, fast or immediate (got {mode!r})")
        if not self.is_initialized():
            return  # nothing there: don't create directories just to find that out
        with self._locked():
            self._started_here = False
            pid = self._running_pid()
            if pid is None:
                log.debug("embedded PostgreSQL in %s is not running", self.pgdata)
                return
            t0 = time.monotonic()
            done = self._run(
                [
                    self.installation.tool("pg_ctl"),
                    "stop",
                    "-D",
                    str(self.pgdata),
                    "-m",
                    mode,
                    "-w",
                    "-t",
                    str(STOP_TIMEOUT_S),
                ],
                timeout=STOP_TIMEOUT_S + 15,
                check=False,
            )
            if done.returncode != 0 and self.is_running():
                raise EmbeddedError(
                    f"could not stop the embedded PostgreSQL (pid {pid}):"
                    f" {(done.stderr or done.stdout).strip()}"
                )
            log.info("embedded PostgreSQL stopped (%s) in %.1fs", mode, time.monotonic() - t0)

    async def astart(self) -> str:
        return await asyncio.to_thread(self.start)

    async def astop(self, mode: ShutdownMode = "fast") -> None:
        await asyncio.to_thread(self.stop, mode)

    # -- context managers: stop only what we started --------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._started_here:
            self.stop()

    async def __aenter__(self) -> Self:
        await self.astart()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._started_here:
            await self.astop()

    @property
    def started_here(self) -> bool:
        """True if this object started the server (and its context manager will stop it)."""
        return self._started_here

    def __repr__(self) -> str:
        return f"EmbeddedPostgres({str(self.data_dir)!r}, {self.host!r}, {self.port})"


def embedded_from_settings(core: CoreSettings, database: DatabaseSettings) -> EmbeddedPostgres:
    """The embedded cluster the settings describe (in ``core.data_dir/pg``); not started."""
    return EmbeddedPostgres(
        core.pg_dir,
        database.embedded_host,
        database.embedded_port,
        tuning=database.embedded_tuning,
        bindir=database.embedded_bindir,
        os_user=database.embedded_os_user,
    )


@contextlib.asynccontextmanager
async def database_dsn(core: CoreSettings, database: DatabaseSettings) -> AsyncIterator[str]:
    """``database.dsn`` if set; else the embedded cluster's DSN, starting the cluster for the
    duration of the block if it was not already running (a running one is left running)."""
    if database.dsn is not None:
        yield database.dsn
        return
    async with embedded_from_settings(core, database) as cluster:
        yield cluster.dsn
