"""The embedded cluster asks every client for the superuser's password (scram-sha-256),
keeps it in a 0600 file, and converts clusters that older envgrid made with ``trust``."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from store.embedded import SUPERUSER, EmbeddedError, EmbeddedPostgres
from store.pg_auth import split_password, uses_trust, without_trust
from store.postmaster import run_tool, server_account

MakePg = Callable[..., EmbeddedPostgres]


def _no_password_dsn(pg: EmbeddedPostgres, database: str = "envgrid") -> str:
    return f"postgresql://{SUPERUSER}@{pg.host}:{pg.port}/{database}"


def _socket_dsn(pg: EmbeddedPostgres, database: str = "envgrid") -> str:
    """What ``pg.dsn`` is without its password: the cluster's unix socket."""
    return f"postgresql://{SUPERUSER}@/{database}?host={pg.socket_dir}&port={pg.port}"


async def _connect_without_password(
    pg: EmbeddedPostgres, database: str = "envgrid"
) -> asyncpg.Connection:
    # no PGPASSWORD (cleared by the test) and no password file: nothing but the DSN
    dsn = _no_password_dsn(pg, database)
    return await asyncpg.connect(dsn, passfile="/nonexistent", timeout=10)


def _psql(pg: EmbeddedPostgres, password: str | None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.defpath, "PGPASSFILE": "/nonexistent", "PGCONNECT_TIMEOUT": "5"}
    if password is not None:
        env["PGPASSWORD"] = password
    return subprocess.run(
        [
            *(pg.installation.tool("psql"), "-X", "-w", "-At"),
            *("-d", _no_password_dsn(pg), "-c", "SELECT current_user"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )


async def _assert_password_required(pg: EmbeddedPostgres) -> None:
    """Over TCP and the unix socket: refused without the password (asyncpg and psql),
    let in with it."""
    with pytest.raises(asyncpg.InvalidPasswordError):
        await _connect_without_password(pg)
    if pg.socket_path is not None:  # None: a running cluster an old envgrid started
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(_socket_dsn(pg), passfile="/nonexistent", timeout=10)
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(
            _no_password_dsn(pg), password="wrong", passfile="/nonexistent", timeout=10
        )
    refused = _psql(pg, None)
    assert refused.returncode != 0
    assert "no password supplied" in refused.stderr
    allowed = _psql(pg, pg.password)
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.strip() == SUPERUSER
    conn = await asyncpg.connect(pg.dsn, timeout=10)
    try:
        assert await conn.fetchval("SELECT current_user") == SUPERUSER
    finally:
        await conn.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_new_cluster_asks_for_the_password(
    make_embedded_pg: MakePg, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    pg = make_embedded_pg(fresh=True)
    with caplog.at_level(logging.DEBUG, logger="store.embedded"):
        dsn = await pg.astart()
    await _assert_password_required(pg)
    assert _mode(pg.password_file) == 0o600
    account = server_account("postgres")
    if account is not None:  # root: the server account owns it (initdb reads it)
        assert pg.password_file.stat().st_uid == account.uid
    assert len(pg.password) >= 40
    assert split_password(dsn) == (_socket_dsn(pg), pg.password)
    assert not uses_trust(pg.hba_file.read_text())
    assert pg.password not in caplog.text
    for server_log in pg.log_dir.iterdir():
        assert pg.password not in server_log.read_text(errors="replace")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_password_file_readable_by_others_is_refused(make_embedded_pg: MakePg, mode: int) -> None:
    pg = make_embedded_pg()
    pg.password_file.chmod(mode)
    with pytest.raises(EmbeddedError) as err:
        pg.start()
    assert str(pg.password_file) in str(err.value)
    assert f"chmod 600 {pg.password_file}" in str(err.value)
    assert not pg.is_running()
    # a running cluster's DSN is refused the same way
    pg.password_file.chmod(0o600)
    pg.start()
    pg.password_file.chmod(mode)
    with pytest.raises(EmbeddedError, match="chmod 600"):
        _ = EmbeddedPostgres(pg.data_dir, pg.host, pg.port).dsn


def test_missing_password_file_is_a_clear_error(make_embedded_pg: MakePg) -> None:
    pg = make_embedded_pg()
    pg.password_file.unlink()
    with pytest.raises(EmbeddedError, match=r"password file .* is missing"):
        pg.start()


def _old_trust_cluster(pg: EmbeddedPostgres) -> None:
    """What envgrid made before: ``initdb --auth=trust`` and no password."""
    account = server_account("postgres")
    pg.data_dir.mkdir(parents=True, exist_ok=True)
    if account is not None:
        os.chown(pg.data_dir, account.uid, account.gid)
    run_tool(
        [
            *(pg.installation.tool("initdb"), "-D", str(pg.pgdata), "-U", SUPERUSER),
            *("--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"),
        ],
        home=pg.data_dir,
        account=account,
        timeout=120,
        check=True,
        stdin=None,
    )
    with (pg.pgdata / "postgresql.conf").open("a") as fh:
        fh.write("\ninclude_if_exists = 'envgrid.conf'\n")
    assert uses_trust(pg.hba_file.read_text())
    assert not pg.password_file.exists()


@pytest.mark.parametrize("running", [False, True], ids=["stopped", "running"])
async def test_trust_cluster_is_converted(
    make_embedded_pg: MakePg, monkeypatch: pytest.MonkeyPatch, running: bool
) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    pg = make_embedded_pg(fresh=True)
    _old_trust_cluster(pg)
    if running:  # started by the old envgrid: trust lets anyone in
        account = server_account("postgres")
        pg.log_dir.mkdir(mode=0o700, exist_ok=True)
        if account is not None:
            os.chown(pg.log_dir, account.uid, account.gid)
        run_tool(
            [
                *(pg.installation.tool("pg_ctl"), "start", "-D", str(pg.pgdata), "-w"),
                *("-l", str(pg.log_dir / "old.log"), "-o"),
                f"-p {pg.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=",
            ],
            home=pg.data_dir,
            account=account,
            timeout=120,
            check=True,
            stdin=None,
        )
        conn = await _connect_without_password(pg, "postgres")
        await conn.execute("CREATE DATABASE envgrid")
        await conn.close()
    await pg.astart()
    await _assert_password_required(pg)
    assert not uses_trust(pg.hba_file.read_text())
    assert "scram-sha-256" in pg.hba_file.read_text()
    assert _mode(pg.password_file) == 0o600
    assert _mode(pg.hba_file) == 0o600
    for server_log in pg.log_dir.iterdir():  # ALTER ROLE … PASSWORD is not logged
        assert pg.password not in server_log.read_text(errors="replace")
    # and it keeps working across a restart, with the same password
    password = pg.password
    await pg.astop()
    again = EmbeddedPostgres(pg.data_dir, pg.host, pg.port, tuning={"fsync": "off"})
    await again.astart()
    try:
        assert again.password == password
        await _assert_password_required(again)
    finally:
        await again.astop()


def test_without_trust_rewrites_only_the_method() -> None:
    hba = (
        "# TYPE  DATABASE USER ADDRESS METHOD\n"
        "local   all      all          trust\n"
        "host    all      all  127.0.0.1/32   trust   # loopback\n"
        "host    all      all  ::1/128        trust\n"
        "host    trust    trust 10.0.0.1 255.255.255.255 trust\n"
        "hostssl all      all  0.0.0.0/0      scram-sha-256\n"
        "local   replication all            peer\n"
    )
    assert uses_trust(hba)
    assert without_trust(hba) == (
        "# TYPE  DATABASE USER ADDRESS METHOD\n"
        "local   all      all          scram-sha-256\n"
        "host    all      all  127.0.0.1/32   scram-sha-256   # loopback\n"
        "host    all      all  ::1/128        scram-sha-256\n"
        "host    trust    trust 10.0.0.1 255.255.255.255 scram-sha-256\n"
        "hostssl all      all  0.0.0.0/0      scram-sha-256\n"
        "local   replication all            peer\n"
    )
    assert not uses_trust(without_trust(hba))


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("postgresql://u:p%40ss@h:5/d", ("postgresql://u@h:5/d", "p@ss")),
        (
            "postgresql://u@h/d?password=x&sslmode=require",
            ("postgresql://u@h/d?sslmode=require", "x"),
        ),
        ("postgresql://h/d", ("postgresql://h/d", None)),
    ],
)
def test_split_password(dsn: str, expected: tuple[str, str | None]) -> None:
    assert split_password(dsn) == expected
