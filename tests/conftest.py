"""Database fixtures shared by every test package.

One PostgreSQL server per test session, one fresh database per test:

* ``pg_server`` (session): ``$TEST_DSN`` if set — an admin DSN allowed to CREATE
  DATABASE — else a throwaway :class:`~store.embedded.EmbeddedPostgres` in a temporary
  directory (on /dev/shm when possible; ``$TEST_PG_TMPDIR`` overrides) on a free loopback
  port, fsync off, stopped and removed at session end, also on Ctrl-C or SIGTERM.
* ``envgrid_template`` (session): the database ``envgrid_tpl`` with the engine detected
  and every migration applied by the project's runner, then closed to connections.
  (With ``$TEST_DSN`` the name gets a random suffix so parallel sessions don't collide,
  and it is dropped at the end.)
* ``db_dsn``: ``CREATE DATABASE t_<uuid> TEMPLATE envgrid_tpl`` per test, dropped
  ``WITH (FORCE)`` afterwards.  ``db_pool`` / ``db_conn``: an asyncpg pool / connection
  on it (project codecs).  ``empty_db_dsn``: an unmigrated database (from template0).
* ``engine_info`` (session): the :class:`~store.engine.EngineInfo` of the template.
  ``timescaledb``: skips the test unless the engine is TimescaleDB; the marker
  ``@pytest.mark.timescaledb`` does the same.  The engine is chosen as envgrid chooses it:
  ``ENVGRID_DATABASE__ENGINE`` (auto, postgres, timescaledb; ``timescaledb`` on a machine
  without it is an error, not a skip) and ``ENVGRID_DATABASE__EMBEDDED_BINDIR`` (the server
  binaries, e.g. a copy of PostgreSQL with TimescaleDB); the test clusters never run
  TimescaleDB's background scheduler (``timescaledb.max_background_workers = 0``), so no
  worker holds a session on the template while it is cloned.
* ``pg_admin`` (session): synchronous admin helper (create/drop databases, run SQL as
  the admin), usable from sync and async tests alike — it runs its own event loop in a
  thread, so it never touches the test's loop.
* ``make_embedded_pg``: factory for extra private clusters (tests that stop, crash or
  restart a server), all stopped and removed at the end of the test.
* ``pg_reachable_tmp``: a temporary directory the ``postgres`` OS account can enter
  (pytest's ``tmp_path`` is private to root), e.g. for ``core.data_dir``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from envgrid.settings import Settings, load_settings
from store.db import connect, create_pool
from store.embedded import EmbeddedPostgres, PortInUseError
from store.engine import Engine, EngineInfo, detect_engine
from store.logcontext import CHANGES_LOG
from store.migrate import migrate
from store.pg_auth import PASSWORD_FILE

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_DSN_ENV = "TEST_DSN"
TEMPLATE_DB = "envgrid_tpl"
TIMESCALEDB_SKIP_REASON = (
    "the suite runs on plain PostgreSQL: TimescaleDB is not installed on this server, or"
    " ENVGRID_DATABASE__ENGINE=postgres (run ENVGRID_DATABASE__ENGINE=timescaledb make test"
    " on a machine with TimescaleDB)"
)
#: What the suite reads of the environment, as envgrid does: the engine and the binaries.
TEST_DATABASE = load_settings(
    None,
    {
        key: value
        for key, value in os.environ.items()
        if key in ("ENVGRID_DATABASE__ENGINE", "ENVGRID_DATABASE__EMBEDDED_BINDIR")
    },
    discover=False,
).database
#: Throwaway clusters: durability off (nothing to protect), small memory footprint.
TEST_TUNING = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "128MB",
    "max_wal_size": "1GB",
    "min_wal_size": "80MB",
    "checkpoint_timeout": "30min",
    "log_min_duration_statement": "-1",
    "log_checkpoints": "off",
    # no TimescaleDB scheduler sessions (a placeholder setting where it is not loaded);
    # correctness never depends on its jobs, and clones need an idle template
    "timescaledb.max_background_workers": "0",
    # some web tests leave a log-in unfinished (the server logs "canceling authentication
    # due to timeout"; a connect cancelled in its handshake, MagicStack/asyncpg#464, is the
    # likely source, not yet found); DROP DATABASE waits for every backend to absorb a
    # barrier, so each such backend held a test database's teardown for the default 60 s
    "authentication_timeout": "2s",
}

log = logging.getLogger("tests.db")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _cluster_tmp_base() -> str | None:
    """Where test clusters live: ``$TEST_PG_TMPDIR``, else /dev/shm (tmpfs: initdb and
    copies are several times faster than on disk), else the system temp directory."""
    chosen = os.environ.get("TEST_PG_TMPDIR")
    if chosen:
        return chosen
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def _test_cluster() -> dict[str, Any]:
    """Keyword arguments of every test cluster: the tuning, the binaries and the engine."""
    return {
        "tuning": TEST_TUNING,
        "bindir": TEST_DATABASE.embedded_bindir,
        "engine": TEST_DATABASE.engine,
    }


def _reachable_tmpdir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=_cluster_tmp_base()))
    path.chmod(0o755)  # the postgres OS account (when we are root) must enter it
    return path


def _stop_and_remove(cluster: EmbeddedPostgres, directory: Path) -> None:
    try:
        if cluster.is_running():
            cluster.stop("immediate")
    except Exception as exc:  # teardown must go on; say what was left behind
        log.warning("could not stop test cluster %s: %s", cluster.data_dir, exc)
    shutil.rmtree(directory, ignore_errors=True)


def _start_on_free_port(
    make: Callable[[int], EmbeddedPostgres], attempts: int = 5
) -> EmbeddedPostgres:
    """Start a cluster on a free port, retrying if another process grabs the port first."""
    for _ in range(attempts - 1):
        cluster = make(free_port())
        with contextlib.suppress(PortInUseError):
            cluster.start()
            return cluster
    cluster = make(free_port())
    cluster.start()
    return cluster


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Let SIGTERM (CI timeouts) unwind like Ctrl-C so session teardown stops the cluster."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        if previous is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _dsn_with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def dsn_with_database(dsn: str, database: str) -> str:
    """``dsn`` naming ``database`` instead (whether it reaches a socket or a host)."""
    return _dsn_with_database(dsn, database)


def dsn_database(dsn: str) -> str:
    """The database a DSN names (``/name``; a socket DSN's query follows it)."""
    return urlsplit(dsn).path.lstrip("/")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------


@dataclass
class PgServer:
    #: DSN of the maintenance database, as a role that may CREATE DATABASE.
    admin_dsn: str
    #: The session's own cluster, or None when ``$TEST_DSN`` is used.
    embedded: EmbeddedPostgres | None
    template_name: str = TEMPLATE_DB
    #: CREATE DATABASE strategy: FILE_COPY is ~5x faster on the fsync-off test cluster.
    clone_strategy: str | None = None

    def dsn_for(self, database: str) -> str:
        return _dsn_with_database(self.admin_dsn, database)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    dsn = os.environ.get(TEST_DSN_ENV)
    if dsn:
        yield PgServer(dsn, None, template_name=f"{TEMPLATE_DB}_{uuid.uuid4().hex[:8]}")
        return
    directory = _reachable_tmpdir("envgrid-test-pg-")
    holder: list[EmbeddedPostgres] = []

    def cleanup() -> None:
        for cluster in holder:
            _stop_and_remove(cluster, directory)
        shutil.rmtree(directory, ignore_errors=True)

    atexit.register(cleanup)
    try:
        with _sigterm_as_interrupt():
            cluster = _start_on_free_port(
                lambda port: EmbeddedPostgres(directory, "127.0.0.1", port, **_test_cluster())
            )
            holder.append(cluster)
            yield PgServer(cluster.dsn_for("postgres"), cluster, clone_strategy="FILE_COPY")
    finally:
        cleanup()
        atexit.unregister(cleanup)


class PgAdmin:
    """Admin SQL on the test server from synchronous code, on a private event loop thread."""

    def __init__(self, server: PgServer) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="pg-admin-loop", daemon=True
        )
        self._thread.start()
        try:
            self._conn: asyncpg.Connection = self.call(connect(server.admin_dsn))
        except BaseException:
            self._shutdown_loop()
            raise

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        """Run ``coro`` on the admin loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def execute(self, sql: str, *args: Any) -> str:
        return str(self.call(self._conn.execute(sql, *args)))

    def fetchval(self, sql: str, *args: Any) -> Any:
        return self.call(self._conn.fetchval(sql, *args))

    def create_database(self, name: str | None = None, *, template: str | None = None) -> str:
        """Create ``name`` (default ``t_<uuid>``) from ``template``; return its DSN."""
        name = name or f"t_{uuid.uuid4().hex}"
        sql = f"CREATE DATABASE {_ident(name)}"
        if template:
            sql += f" TEMPLATE {_ident(template)}"
            if self.server.clone_strategy:
                sql += f" STRATEGY {self.server.clone_strategy}"
        self.execute(sql)
        return self.server.dsn_for(name)

    def drop_database(self, name: str) -> None:
        self.execute(f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")

    def terminate_connections(self, database: str) -> int:
        """Kill every session on ``database`` (simulates the server going away for it)."""
        return int(
            self.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()",
                database,
            )
        )

    def _shutdown_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def close(self) -> None:
        try:
            self.call(self._conn.close(), timeout=10)
        finally:
            self._shutdown_loop()


@pytest.fixture(scope="session")
def pg_admin(pg_server: PgServer) -> Iterator[PgAdmin]:
    admin = PgAdmin(pg_server)
    try:
        yield admin
    finally:
        admin.close()


@dataclass(frozen=True)
class TemplateDatabase:
    name: str
    dsn: str
    engine_info: EngineInfo
    applied: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def envgrid_template(pg_server: PgServer, pg_admin: PgAdmin) -> Iterator[TemplateDatabase]:
    name = pg_server.template_name
    pg_admin.drop_database(name)
    dsn = pg_admin.create_database(name)

    async def prepare() -> tuple[EngineInfo, list[str]]:
        conn = await connect(dsn)
        try:
            info = await detect_engine(conn, choice=TEST_DATABASE.engine)
            applied = await migrate(conn, info.engine)
        finally:
            await conn.close()
        return info, [f"{a.version:04d}_{a.name}" for a in applied]

    info, applied = pg_admin.call(prepare())
    # No sessions on the template: CREATE DATABASE .. TEMPLATE needs it idle, and this
    # keeps TimescaleDB's background workers out of it.
    pg_admin.execute(f"ALTER DATABASE {_ident(name)} ALLOW_CONNECTIONS false")
    log.info("template %s ready: %s, migrations %s", name, info.describe(), applied)
    try:
        yield TemplateDatabase(name, dsn, info, applied)
    finally:
        if pg_server.embedded is None:
            pg_admin.drop_database(name)


@pytest.fixture(scope="session")
def engine_info(envgrid_template: TemplateDatabase) -> EngineInfo:
    return envgrid_template.engine_info


@pytest.fixture
def timescaledb(engine_info: EngineInfo) -> EngineInfo:
    """Use in TimescaleDB-only tests: skips with a clear reason when the extension is absent."""
    if engine_info.engine is not Engine.TIMESCALEDB:
        pytest.skip(TIMESCALEDB_SKIP_REASON)
    return engine_info


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """A command run in-process sets up logging for the whole process (as it would for its
    own): undo it after the test, so the next test's commands start from the same state."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    changes = CHANGES_LOG.level
    yield
    for handler in [h for h in root.handlers if h not in handlers and h.get_name() == "envgrid"]:
        root.removeHandler(handler)
    root.setLevel(level)
    CHANGES_LOG.setLevel(changes)


@pytest.fixture(autouse=True)
def _timescaledb_marker(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("timescaledb") is not None:
        request.getfixturevalue("timescaledb")


# --------------------------------------------------------------------------
# Per-test databases
# --------------------------------------------------------------------------


@pytest.fixture
def db_dsn(pg_admin: PgAdmin, envgrid_template: TemplateDatabase) -> Iterator[str]:
    """DSN of a fresh, migrated database for this test only."""
    name = f"t_{uuid.uuid4().hex}"
    dsn = pg_admin.create_database(name, template=envgrid_template.name)
    try:
        yield dsn
    finally:
        pg_admin.drop_database(name)


@pytest.fixture
def empty_db_dsn(pg_admin: PgAdmin) -> Iterator[str]:
    """DSN of a fresh database with no migrations (cloned from template0)."""
    name = f"t_{uuid.uuid4().hex}"
    dsn = pg_admin.create_database(name, template="template0")
    try:
        yield dsn
    finally:
        pg_admin.drop_database(name)


@pytest.fixture
async def db_pool(db_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(db_dsn, min_size=1, max_size=4, application_name="envgrid-test")
    try:
        yield pool
    finally:
        try:
            await asyncio.wait_for(pool.close(), 10)
        except TimeoutError:
            pool.terminate()
            raise AssertionError("a test left pool connections acquired") from None


@pytest.fixture
async def db_conn(db_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await connect(db_dsn, application_name="envgrid-test")
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def db_settings(db_dsn: str, pg_reachable_tmp: Path) -> Settings:
    """Settings pointing at this test's database, data under a temporary directory."""
    return load_settings(
        None,
        {},
        {
            "database.dsn": db_dsn,
            "database.engine": TEST_DATABASE.engine,
            "core.data_dir": str(pg_reachable_tmp),
        },
        discover=False,
    )


# --------------------------------------------------------------------------
# Extra clusters and directories
# --------------------------------------------------------------------------


@pytest.fixture
def pg_reachable_tmp() -> Iterator[Path]:
    path = _reachable_tmpdir("envgrid-test-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def _pristine_pgdata() -> Iterator[Path]:
    """An initialised, cleanly stopped PGDATA (with the envgrid database) to copy from."""
    directory = _reachable_tmpdir("envgrid-test-pristine-")
    try:
        cluster = _start_on_free_port(
            lambda port: EmbeddedPostgres(directory, "127.0.0.1", port, **_test_cluster())
        )
        cluster.stop()
        yield cluster.pgdata
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def make_embedded_pg(request: pytest.FixtureRequest) -> Iterator[Callable[..., EmbeddedPostgres]]:
    """``make_embedded_pg(fresh=False, **kwargs)`` -> a new cluster on a free port, not started.

    By default its PGDATA (and password file) is a copy of a pristine cluster (``cp -a``,
    ~50 ms instead of a ~1 s initdb); ``fresh=True`` leaves it empty so ``start()`` runs initdb.  Keyword
    arguments go to :class:`EmbeddedPostgres` (``tuning`` is merged over the test tuning).
    Every cluster made is stopped and removed after the test.
    """
    made: list[tuple[EmbeddedPostgres, Path]] = []

    def make(*, fresh: bool = False, **kwargs: Any) -> EmbeddedPostgres:
        directory = _reachable_tmpdir("envgrid-test-pg-")
        if not fresh:
            pristine: Path = request.getfixturevalue("_pristine_pgdata")
            subprocess.run(["cp", "-a", str(pristine), str(directory / "data")], check=True)
            password = pristine.parent / PASSWORD_FILE  # the copy's superuser password
            subprocess.run(["cp", "-a", str(password), str(directory)], check=True)
        options = _test_cluster() | kwargs
        options["tuning"] = {**TEST_TUNING, **kwargs.get("tuning", {})}
        port = options.pop("port", None) or free_port()
        cluster = EmbeddedPostgres(directory, "127.0.0.1", port, **options)
        made.append((cluster, directory))
        return cluster

    try:
        yield make
    finally:
        for cluster, directory in made:
            _stop_and_remove(cluster, directory)
