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
    superuser.password  the superuser's password, mode 0600 (:mod:`store.pg_auth`)
    .lock            flock taken while starting or stopping

``start()`` takes the flock, then:

1. finds the binaries (``database.embedded_bindir``, ``pg_config --bindir``, the
   newest ``/usr/lib/postgresql/<N>/bin``; an existing cluster prefers its own
   major version) and refuses a cluster made by another major version;
2. when running as root — ``initdb`` and ``postgres`` refuse root — runs every
   server binary as ``database.embedded_os_user`` (``postgres``), owns the data
   directory by it and checks that account can reach the directory;
3. on first use writes a random password to ``superuser.password`` (mode 0600) and runs
   ``initdb -U envgrid --auth=scram-sha-256 --pwfile=superuser.password -E UTF8
   --locale=C.UTF-8`` (``C`` if that locale is missing), then appends
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
   not reach the postmaster);
7. converts a cluster made by an older envgrid with ``--auth=trust`` (any local user
   or program was the superuser, and a superuser can run programs as the server's
   account): sets the password of ``superuser.password`` (made now) on the ``envgrid``
   role, rewrites the ``trust`` records of ``pg_hba.conf`` to ``scram-sha-256`` and
   reloads the configuration — the same whether the cluster was running or not;
8. creates the ``envgrid`` database if missing.

It returns ``postgresql://envgrid:<password>@/envgrid?host=<data_dir>/run&port=<port>``
(the unix socket; ``@host:port`` over TCP when the cluster has no socket): show it only
through :func:`store.config.mask_dsn`.  Every client, over TCP (loopback only: settings
refuse a non-loopback ``embedded_host``) or the unix socket, must give the password.
``stop()`` is ``pg_ctl stop -m fast``; the context managers stop the cluster
only if they started it.

Finding the binaries is :mod:`store.pg_installation`, the settings written to
``envgrid.conf`` are :mod:`store.pg_tuning`, and the OS side (account, PIDs, lock
files, port, running the tools) is :mod:`store.postmaster`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import subprocess
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, Self

from store.engine import EngineChoice
from store.pg_auth import (
    PASSWORD_FILE,
    SCRAM,
    create_password_file,
    read_password_file,
    user_with_password,
    uses_trust,
    without_trust,
)
from store.pg_installation import (
    BinariesNotFoundError,
    EmbeddedError,
    PgInstallation,
    find_installation,
    timescaledb_available,
)
from store.pg_tuning import conf_text, default_tuning, is_guc_name, preload_libraries
from store.postmaster import (
    ServerAccount,
    clear_stale_locks,
    cluster_lock,
    failure_details,
    pidfile_field,
    port_free,
    prepare_dirs,
    run_tool,
    running_pid,
    server_account,
)

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
_UNIX_PATH_MAX: Final = 107  # sun_path minus the NUL
ShutdownMode = Literal["smart", "fast", "immediate"]


class PortInUseError(EmbeddedError):
    pass


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
        engine: EngineChoice = "auto",
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        #: the layout of the module docstring
        self.pgdata = self.data_dir / "data"
        self.socket_dir = self.data_dir / "run"
        self.log_dir = self.data_dir / "log"
        self.startup_log = self.log_dir / "startup.log"
        self.password_file = self.data_dir / PASSWORD_FILE
        self.hba_file = self.pgdata / "pg_hba.conf"
        self.host = host
        self.port = port
        self.database = database
        self._tuning = dict(tuning or {})
        for key in self._tuning:
            if not is_guc_name(key):
                raise EmbeddedError(f"{key!r} is not a valid postgresql.conf setting name")
        self._bindir = bindir
        self._os_user = os_user
        self._engine = engine
        self._installation: PgInstallation | None = None
        self._password: str | None = None
        self._started_here = False

    # -- paths and identity --------------------------------------------------

    @property
    def dsn(self) -> str:
        return self.dsn_for(self.database)

    def dsn_for(self, database: str) -> str:
        """The superuser's DSN for ``database``, password included (mask it to show it)."""
        return self._dsn(database, user_with_password(SUPERUSER, self.password))

    def _dsn(self, database: str, userinfo: str) -> str:
        socket = self.socket_path
        if socket is not None:
            # the unix socket when the cluster has one: no TCP/IP stack on each round
            # trip (issue 23: -4 % ingest CPU a frame, -3.5 % PostgreSQL's, side by side)
            return f"postgresql://{userinfo}@/{database}?host={socket.parent}&port={self.port}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"postgresql://{userinfo}@{host}:{self.port}/{database}"

    @property
    def socket_path(self) -> Path | None:
        """The running cluster's unix socket, or None (not running, the path is too long
        for a socket, or a cluster started without one)."""
        path = self.socket_dir / f".s.PGSQL.{self.port}"
        if len(str(path)) > _UNIX_PATH_MAX:
            return None
        try:
            return path if stat.S_ISSOCK(path.stat().st_mode) else None
        except OSError:
            return None

    @property
    def password(self) -> str:
        """The superuser's password, from ``superuser.password`` (refused unless mode 0600)."""
        if self._password is None:
            self._password = read_password_file(self.password_file)
        return self._password

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

    def is_running(self) -> bool:
        return running_pid(self.pgdata) is not None

    # -- running commands ----------------------------------------------------

    def _run(
        self,
        args: Sequence[str],
        *,
        as_server: bool = True,
        timeout: float = 120,
        check: bool = True,
        stdin: str | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return run_tool(
            args,
            home=self.data_dir,
            account=server_account(self._os_user) if as_server else None,
            timeout=timeout,
            check=check,
            stdin=stdin,
            extra_env=extra_env,
        )

    # -- the superuser's password ----------------------------------------------

    def _ensure_password_file(self, account: ServerAccount | None) -> None:
        """Make ``superuser.password`` if there is none (a new cluster, or one made with
        ``trust``); check the one there (mode 0600)."""
        if not self.password_file.exists() and not self.password_file.is_symlink():
            owner = (account.uid, account.gid) if account is not None else None
            self._password = create_password_file(self.password_file, owner)
            log.info("wrote a new superuser password to %s (mode 0600)", self.password_file)
        self._password = read_password_file(self.password_file)

    def _hba_uses_trust(self) -> bool:
        try:
            return uses_trust(self.hba_file.read_text())
        except FileNotFoundError:
            return False

    def _convert_trust(self, account: ServerAccount | None) -> None:
        """Step 7 of the module docstring, on the running cluster (still ``trust``)."""
        log.warning(
            "the embedded PostgreSQL in %s lets local clients in without a password"
            " (trust); setting the superuser password from %s and switching pg_hba.conf"
            " to scram-sha-256",
            self.pgdata,
            self.password_file,
        )
        # The password reaches the server as a literal (psql takes it from its environment,
        # never the command line): keep it out of the server log and of pg_stat_statements
        # (the session settings are the superuser's to change).
        done = self._psql(
            "postgres",
            "SET log_statement = 'none';\n"
            "SET log_min_duration_statement = -1;\n"
            "SET log_min_error_statement = 'panic';\n"
            "SET pg_stat_statements.track_utility = off;\n"
            "\\getenv pw PGPASSWORD\n"
            "ALTER ROLE :\"su\" PASSWORD :'pw';\n",
            su=SUPERUSER,
        )
        if done.returncode != 0:
            raise EmbeddedError(
                f"cannot set the superuser password of the embedded PostgreSQL:"
                f" {done.stderr.strip()}"
            )
        tmp = self.hba_file.with_suffix(".conf.tmp")
        tmp.write_text(without_trust(self.hba_file.read_text()))
        tmp.chmod(0o600)
        if account is not None:
            os.chown(tmp, account.uid, account.gid)
        tmp.replace(self.hba_file)
        reloaded = self._psql("postgres", "SELECT pg_reload_conf()")
        if reloaded.returncode != 0:
            raise EmbeddedError(
                f"cannot reload the embedded PostgreSQL's pg_hba.conf: {reloaded.stderr.strip()}"
            )
        log.info("pg_hba.conf of %s now asks every client for the password", self.pgdata)

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
            f"--auth={SCRAM}",
            f"--pwfile={self.password_file}",
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

    def _write_conf(self, account: ServerAccount | None) -> dict[str, str]:
        inst = self.installation
        settings = default_tuning(inst, engine=self._engine)
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
        path = self.pgdata / "envgrid.conf"
        tmp = path.with_suffix(".conf.tmp")
        tmp.write_text(conf_text(settings))
        if account is not None:
            os.chown(tmp, account.uid, account.gid)
        tmp.replace(path)
        return settings

    # -- start / stop --------------------------------------------------------

    def start(self) -> str:
        """Initialise if needed, start if not running, ensure the database; return its DSN."""
        with cluster_lock(self.data_dir):
            return self._start_locked()

    def _start_locked(self) -> str:
        account = server_account(self._os_user)
        prepare_dirs(self.data_dir, (self.socket_dir, self.log_dir), account)
        major = self._cluster_major()
        inst = self.installation
        if major is not None and major != inst.major:
            raise EmbeddedError(
                f"the cluster in {self.pgdata} was created by PostgreSQL {major}, but the"
                f" binaries in {inst.bindir} are PostgreSQL {inst.major}; install"
                f" postgresql-{major} (or set database.embedded_bindir), or pg_upgrade the cluster"
            )
        preload_libraries(inst, self._engine)  # database.engine = timescaledb needs it here
        trust = self._hba_uses_trust()
        if trust or not self.is_initialized():
            self._ensure_password_file(account)
        else:
            self._password = read_password_file(self.password_file)
        if not self.is_initialized():
            self._initdb()
        pid = running_pid(self.pgdata)
        if pid is not None:
            running_port = pidfile_field(self.pgdata, 3)
            if running_port and running_port.isdigit() and int(running_port) != self.port:
                log.warning(
                    "embedded cluster is already running on port %s, not the configured %d;"
                    " using it (restart it with `envgrid db stop` to apply the new port)",
                    running_port,
                    self.port,
                )
                self.port = int(running_port)
            log.info("embedded PostgreSQL already running (pid %d) in %s", pid, self.pgdata)
            if trust:
                self._convert_trust(account)
            self._ensure_database()
            return self.dsn
        clear_stale_locks(self.pgdata, self.socket_dir)
        if not port_free(self.host, self.port):
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
            details = (
                failure_details(self.startup_log, self.log_dir)
                or (done.stderr or done.stdout).strip()
            )
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
        if trust:
            self._convert_trust(account)
        self._ensure_database()
        return self.dsn

    def _psql(self, database: str, sql: str, **variables: str) -> subprocess.CompletedProcess[str]:
        """Run ``sql`` (read from stdin, so ``:'name'`` interpolates ``variables``) via psql,
        as the superuser with the password in psql's environment."""
        args = [self.installation.tool("psql"), "-X", "-q", "-A", "-t", "-w"]
        args += ["-v", "ON_ERROR_STOP=1"]
        for name, value in variables.items():
            args += ["-v", f"{name}={value}"]
        args += ["-d", self._dsn(database, SUPERUSER)]
        return self._run(
            args,
            as_server=False,
            timeout=30,
            check=False,
            stdin=sql,
            extra_env={"PGPASSWORD": self.password},
        )

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
        with cluster_lock(self.data_dir):
            self._started_here = False
            pid = running_pid(self.pgdata)
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

    def __exit__(self, *exc_info: object) -> None:
        if self._started_here:
            self.stop()

    async def __aenter__(self) -> Self:
        await self.astart()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
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
        engine=database.engine,
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
