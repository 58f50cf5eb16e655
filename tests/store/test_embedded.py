"""The embedded cluster: init, start/stop/restart, stale pid files, port conflicts."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from store.db import connect
from store.embedded import (
    BinariesNotFoundError,
    EmbeddedError,
    EmbeddedPostgres,
    PgInstallation,
    PortInUseError,
    default_tuning,
    find_installation,
    timescaledb_available,
)
from store.engine import EngineChoice
from tests.conftest import PgServer, free_port

MakePg = Callable[..., EmbeddedPostgres]


def _cluster_processes(pgdata: Path) -> list[int]:
    """PIDs whose working directory is ``pgdata`` (the postmaster and its children)."""
    target = pgdata.resolve()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == target:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _wait_gone(pgdata: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while _cluster_processes(pgdata):
        assert time.monotonic() < deadline, "cluster processes did not exit"
        time.sleep(0.05)


async def test_start_stop_restart_keeps_data(make_embedded_pg: MakePg) -> None:
    pg = make_embedded_pg(fresh=True)
    assert not pg.is_initialized() and not pg.is_running()
    dsn = await pg.astart()
    # the unix socket (no TCP/IP stack a round trip); TCP on the loopback still answers
    assert dsn == f"postgresql://envgrid:{pg.password}@/envgrid?host={pg.socket_dir}&port={pg.port}"
    assert pg.socket_path == pg.socket_dir / f".s.PGSQL.{pg.port}"
    assert pg.is_running() and pg.started_here
    tcp = await connect(f"postgresql://envgrid:{pg.password}@127.0.0.1:{pg.port}/envgrid")
    assert await tcp.fetchval("SELECT inet_client_addr() IS NOT NULL")
    await tcp.close()
    conn = await connect(dsn)
    try:
        assert await conn.fetchval("SELECT inet_client_addr() IS NULL")  # the socket
        await conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('across restart')")
        assert await conn.fetchval("SHOW shared_buffers") == "128MB"  # test tuning wins
        assert await conn.fetchval("SHOW timezone") == "UTC"
        assert await conn.fetchval("SHOW max_connections") == "200"
        assert await conn.fetchval("SHOW wal_compression") == "pglz"
        assert "pg_stat_statements" in await conn.fetchval("SHOW shared_preload_libraries")
        assert await conn.fetchval("SHOW data_checksums") == "on"
        assert await conn.fetchval("SHOW server_encoding") == "UTF8"
    finally:
        await conn.close()

    assert await pg.astart() == dsn  # already running: reused, not restarted
    await pg.astop()
    assert not pg.is_running()
    await pg.astop()  # stopping a stopped cluster is a no-op

    assert await pg.astart() == dsn
    conn = await connect(dsn)
    try:
        assert await conn.fetchval("SELECT v FROM kept") == "across restart"
    finally:
        await conn.close()
    conf = (pg.pgdata / "envgrid.conf").read_text()
    assert f"port = '{pg.port}'" in conf and "fsync = 'off'" in conf
    assert (pg.pgdata / "postgresql.conf").read_text().count(
        "\ninclude_if_exists = 'envgrid.conf'"
    ) == 1


def test_stale_pidfile_after_crash(
    make_embedded_pg: MakePg, caplog: pytest.LogCaptureFixture
) -> None:
    pg = make_embedded_pg()
    pg.start()
    pidfile = pg.pgdata / "postmaster.pid"
    postmaster = int(pidfile.read_text().split()[0])
    os.kill(postmaster, signal.SIGKILL)  # crash: the pid file stays behind
    _wait_gone(pg.pgdata)  # children notice and exit; the postmaster may linger as a zombie
    assert not pg.is_running()
    # Worst case after a reboot: the recorded PID now belongs to an unrelated live process,
    # which makes postgres itself refuse to start ("Is another postmaster running?").
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as other:
        try:
            lines = pidfile.read_text().splitlines()
            pidfile.write_text("\n".join([str(other.pid), *lines[1:]]) + "\n")
            with caplog.at_level(logging.WARNING, logger="store.embedded"):
                pg.start()
        finally:
            other.kill()
    assert "defusing stale" in caplog.text
    assert pg.is_running()
    assert int(pidfile.read_text().split()[0]) != other.pid


def test_port_in_use(make_embedded_pg: MakePg) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        pg = make_embedded_pg(port=port)
        with pytest.raises(PortInUseError) as err:
            pg.start()
    message = str(err.value)
    assert f"port {port} on 127.0.0.1 is already in use" in message
    assert "database.embedded_port" in message
    assert not pg.is_running()


def test_context_manager_stops_only_what_it_started(make_embedded_pg: MakePg) -> None:
    pg = make_embedded_pg()
    with pg as started:
        assert started.is_running() and started.started_here
        # a second handle on the running cluster must leave it running
        with EmbeddedPostgres(pg.data_dir, pg.host, pg.port) as again:
            assert not again.started_here
        assert pg.is_running()
    assert not pg.is_running()


def test_running_on_another_port_is_reused(
    make_embedded_pg: MakePg, caplog: pytest.LogCaptureFixture
) -> None:
    pg = make_embedded_pg()
    pg.start()
    other = EmbeddedPostgres(pg.data_dir, pg.host, free_port())
    with caplog.at_level(logging.WARNING, logger="store.embedded"):
        assert other.start() == pg.dsn
    assert f"already running on port {pg.port}" in caplog.text


def test_refuses_cluster_of_other_major(pg_reachable_tmp: Path) -> None:
    (pg_reachable_tmp / "data").mkdir()
    (pg_reachable_tmp / "data" / "PG_VERSION").write_text("9\n")
    with pytest.raises(EmbeddedError, match=r"created by PostgreSQL 9, but the binaries"):
        EmbeddedPostgres(pg_reachable_tmp, port=free_port()).start()


def test_refuses_foreign_data_directory(pg_reachable_tmp: Path) -> None:
    (pg_reachable_tmp / "data").mkdir()
    (pg_reachable_tmp / "data" / "notes.txt").write_text("not a cluster")
    with pytest.raises(EmbeddedError, match="is not empty but holds no PostgreSQL cluster"):
        EmbeddedPostgres(pg_reachable_tmp, port=free_port()).start()


@pytest.mark.skipif(os.geteuid() != 0, reason="root-only: the postgres account's reachability")
def test_root_needs_reachable_directory(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(EmbeddedError, match="cannot enter") as err:
        EmbeddedPostgres(private / "pg", port=free_port()).start()
    assert "chmod o+x" in str(err.value) and "core.data_dir" in str(err.value)


def test_invalid_tuning_name() -> None:
    with pytest.raises(EmbeddedError, match=r"not a valid postgresql\.conf setting name"):
        EmbeddedPostgres(Path("/nonexistent"), tuning={"work_mem\nfsync": "off"})


def test_find_installation() -> None:
    inst = find_installation()
    assert inst.major >= 15
    assert (inst.bindir / "initdb").exists()
    assert inst.has_extension("pg_stat_statements")
    assert find_installation(inst.bindir) == inst
    with pytest.raises(BinariesNotFoundError, match=r"database\.embedded_bindir"):
        find_installation(Path("/nonexistent/bin"))


def test_default_tuning() -> None:
    inst = find_installation()
    big = default_tuning(inst, ram_bytes=24 << 30, cpus=2)
    assert big["shared_buffers"] == "1024MB"  # ≈1 GB …
    assert default_tuning(inst, ram_bytes=2 << 30)["shared_buffers"] == "512MB"  # … ≤ 25% RAM
    assert big["max_wal_size"] == "4GB" and big["checkpoint_timeout"] == "15min"
    assert big["synchronous_commit"] == "on" and big["wal_compression"] == "on"
    assert big["max_connections"] == "200" and big["timezone"] == "UTC"
    # pg_stat_statements first; timescaledb follows where this machine has it (engine auto)
    assert big["shared_preload_libraries"].split(",")[0] == "pg_stat_statements"
    assert ("timescaledb" in big["shared_preload_libraries"]) == timescaledb_available(inst.bindir)
    fake = PgInstallation(inst.bindir, Path("/nonexistent"), Path("/nonexistent"), "15.0")
    assert default_tuning(fake)["shared_preload_libraries"] == ""


def _installation(root: Path, *files: str) -> PgInstallation:
    """A fake installation under ``root`` holding ``files`` (lib/x.so, share/extension/x)."""
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).touch()
    return PgInstallation(root / "bin", root / "lib", root / "share", "15.20")


@pytest.mark.parametrize(
    ("files", "engine", "expected"),
    [
        ((), "auto", ""),
        ((), "postgres", ""),
        (("lib/pg_stat_statements.so",), "auto", "pg_stat_statements"),
        (("lib/timescaledb.so", "share/extension/timescaledb.control"), "auto", "timescaledb"),
        (("lib/timescaledb.so", "share/extension/timescaledb.control"), "postgres", ""),
        (
            (
                "lib/pg_stat_statements.so",
                "lib/timescaledb.so",
                "share/extension/timescaledb.control",
            ),
            "timescaledb",
            "pg_stat_statements,timescaledb",
        ),
        # a library without its control file is not an installed extension
        (("lib/timescaledb.so",), "auto", ""),
    ],
)
def test_preload_follows_the_engine_setting(
    tmp_path: Path, files: tuple[str, ...], engine: EngineChoice, expected: str
) -> None:
    inst = _installation(tmp_path, *files)
    assert default_tuning(inst, engine=engine)["shared_preload_libraries"] == expected
    assert ("timescaledb.max_background_workers" in default_tuning(inst, engine=engine)) == (
        "timescaledb" in expected
    )


@pytest.mark.parametrize("files", [(), ("lib/timescaledb.so",)])
def test_engine_timescaledb_without_it_names_what_to_install(
    tmp_path: Path, files: tuple[str, ...]
) -> None:
    inst = _installation(tmp_path, *files)
    with pytest.raises(EmbeddedError, match=r"database\.engine is 'timescaledb'.*shared_preload"):
        default_tuning(inst, engine="timescaledb")


def test_timescaledb_available_matches_server(engine_info: object) -> None:
    inst = find_installation()
    assert timescaledb_available(inst.bindir) == inst.has_extension("timescaledb")


def test_session_cluster(pg_server: PgServer) -> None:
    if pg_server.embedded is None:
        pytest.skip("TEST_DSN is set: the session uses an external server")
    assert pg_server.embedded.is_running()
    assert urlsplit(pg_server.admin_dsn).path == "/postgres"


def test_engine_timescaledb_on_binaries_without_it_fails_before_initdb(
    make_embedded_pg: MakePg,
) -> None:
    pg = make_embedded_pg(fresh=True, engine="timescaledb")
    if timescaledb_available(pg.installation.bindir):
        pytest.skip("these server binaries have TimescaleDB")
    with pytest.raises(EmbeddedError, match=r"database\.engine is 'timescaledb' but TimescaleDB"):
        pg.start()
    assert not pg.is_initialized() and not pg.is_running()
