"""Backup and restore end to end (issue 20 C): a backup taken while stations send data
restores into a new data directory as an identical instance that ingests again.

The source is the test's database (``database.dsn``), fed by a real ingest worker with
station clients on loopback; the target is a new embedded cluster in a new data
directory.  The restore itself re-counts and re-checksums every table against the
manifest (taken in pg_dump's snapshot); the test checks the figures too, and that the
restored secret key still unseals the station passwords (the worker accepts the frames).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from envgrid import cli
from envgrid.backup_job import backup_sources
from envgrid.settings import Settings, load_settings
from ingest.server import IngestWorker
from protocol import encode_upload
from store.backup.archive import ArchiveReader
from store.backup.create import backup_name, create_backup
from store.backup.manifest import BackupInputError
from store.backup.restore import restore_backup
from store.backup.runs import backup_lock
from store.backup.snapshot import table_sums
from store.backup.target import RestoreTarget
from store.db import connect
from store.engine import Engine, EngineInfo
from store.prepare import seed_factors
from store.secretbox import box_for, seal_plain_passwords
from store.stations import NewStation, add_stations
from tests.conftest import TEST_DATABASE, TEST_TUNING, free_port
from tests.ingest.conftest import StationClient, make_settings
from web.casework.kernel.config import CaseConfig

STATIONS = [NewStation(f"BAK{i:021d}", f"pw-{i}", f"备份站{i}", "22") for i in range(4)]
PHOTO = b"\xff\xd8\xff\xe0 not really a JPEG, but bytes to carry" * 50


def _frame(station: NewStation, i: int, start: float) -> bytes:
    return encode_upload(
        2011,
        st="22",
        mn=station.mn,
        pw=station.password,
        qn=f"{20261206000000000 + i}",
        data_time=time.strftime("%Y%m%d%H%M%S", time.localtime(start + 30 * i)),
        values={"a34004": {"Rtd": f"{10 + i % 7}.5", "Flag": "N"}, "a21026": {"Rtd": "8"}},
    )


async def _send(port: int, station: NewStation, frames: range, start: float) -> int:
    """Send ``frames`` in bursts of 10, each burst after the acks of the one before;
    return the number of acks."""
    client = await StationClient.open(port)
    try:
        for first in range(frames.start, frames.stop, 10):
            burst = range(first, min(first + 10, frames.stop))
            await client.send(*(_frame(station, i, start) for i in burst))
            await client.expect(len(client.received) + len(burst), timeout=10)
        return len(client.received)
    finally:
        await client.close()


@contextlib.contextmanager
def _restored_settings(data_dir: Path) -> Iterator[Settings]:
    yield load_settings(
        None,
        {},
        {
            "core.data_dir": str(data_dir),
            "ingest.port": 0,
            "ingest.metrics_port": 0,
            "ingest.batch_ms": 50,
            "database.engine": TEST_DATABASE.engine,
            "database.embedded_port": free_port(),
            "database.embedded_tuning": dict(TEST_TUNING),
            **(
                {"database.embedded_bindir": str(TEST_DATABASE.embedded_bindir)}
                if TEST_DATABASE.embedded_bindir
                else {}
            ),
        },
        discover=False,
    )


async def _counts(dsn: str) -> dict[str, Any]:
    conn = await connect(dsn)
    try:
        return {t.name: (t.rows, t.checksum) for t in await table_sums(conn, checksums=True)}
    finally:
        await conn.close()


async def _until_rows(dsn: str, table: str, timeout: float = 30.0) -> None:
    """Wait until ``table`` holds a committed row (the first batch of the load)."""
    conn = await connect(dsn)
    try:
        async with asyncio.timeout(timeout):
            while not await conn.fetchval(f"SELECT EXISTS (SELECT FROM {table})"):
                await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def test_a_backup_taken_during_ingest_restores_to_an_identical_working_instance(
    db_dsn: str, engine_info: EngineInfo, pg_reachable_tmp: Path
) -> None:
    source = make_settings(pg_reachable_tmp / "source", db_dsn)
    conn = await connect(db_dsn)
    try:
        await seed_factors(conn)
        await add_stations(conn, STATIONS)
        assert await seal_plain_passwords(conn, box_for(source.core.secret_key_path)) >= 4
    finally:
        await conn.close()
    uploads = CaseConfig.from_settings(source).uploads_dir
    (uploads / "2026" / "12").mkdir(parents=True)
    (uploads / "2026" / "12" / "photo.jpg").write_bytes(PHOTO)

    worker = IngestWorker(source, db_dsn, engine_info.engine, index=0)
    await worker.start()
    start = time.time() - 3 * 3600  # three hours of 30-s data: several hourly rollups
    output = pg_reachable_tmp / "backups" / "during-ingest.tar"
    try:
        # stations keep sending while the backup is taken
        load = [
            asyncio.create_task(_send(worker.bound_port, s, range(0, 120), start)) for s in STATIONS
        ]
        await _until_rows(db_dsn, "measurements_rtd")  # not a fixed sleep: a loaded box is slow
        if engine_info.engine is Engine.TIMESCALEDB:  # what envgrid's refresh job does
            conn = await connect(db_dsn)
            try:
                await conn.execute(
                    "CALL refresh_continuous_aggregate('agg_hourly_rtd', NULL, NULL)"
                )
            finally:
                await conn.close()
        result = await asyncio.to_thread(create_backup, backup_sources(source, db_dsn), output)
        assert sum(await asyncio.gather(*load)) == 4 * 120
        after_backup = await _counts(db_dsn)
    finally:
        await worker.stop()

    m = result.manifest
    assert output.stat().st_mode & 0o777 == 0o600
    assert m.engine == engine_info.engine.value and m.secret_key and m.checksums
    rtd = m.rows("measurements_rtd")
    assert rtd is not None and rtd > 0  # taken mid-stream: some rows, not necessarily all
    assert rtd <= after_backup["measurements_rtd"][0] == 4 * 120 * 2
    hourly = "agg_hourly_rtd" + (" (materialized)" if m.engine == "timescaledb" else "")
    assert (m.rows(hourly) or 0) > 0

    target_dir = pg_reachable_tmp / "restored"
    with _restored_settings(target_dir) as restored:
        target = RestoreTarget(
            restored.core, restored.database, CaseConfig.from_settings(restored).uploads_dir
        )
        done = await asyncio.to_thread(restore_backup, output, target)
        assert done.manifest == m
        # the files: photo, key (mode 0600), configuration for review
        assert (target.uploads_dir / "2026" / "12" / "photo.jpg").read_bytes() == PHOTO
        key = restored.core.secret_key_path
        assert key.read_bytes() == source.core.secret_key_path.read_bytes()
        assert key.stat().st_mode & 0o777 == 0o600
        assert (target.config_dir / "effective.toml").is_file()
        # a second restore into the now used directory is refused, changing nothing
        with pytest.raises(BackupInputError, match="in use"):
            restore_backup(output, target)

        # start the restored instance: same rows and checksums as in the snapshot …
        cluster = target.cluster(m.engine)
        dsn = await cluster.astart()
        try:
            restored_sums = await _counts(dsn)
            for table in m.tables:
                assert restored_sums[table.name] == (table.rows, table.checksum), table.name
            # … and it ingests again, with the stations' sealed passwords (restored key)
            worker = IngestWorker(restored, dsn, engine_info.engine, index=0)
            await worker.start()
            try:
                acks = await _send(worker.bound_port, STATIONS[0], range(500, 510), start)
            finally:
                await worker.stop()
            assert acks == 10
            grown = await _counts(dsn)
            assert grown["measurements_rtd"][0] == rtd + 10 * 2
        finally:
            await cluster.astop()


def test_backup_cli_create_list_and_refused_inputs(
    db_dsn: str, pg_reachable_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = pg_reachable_tmp / "data"
    base = ["--config", str(_config(pg_reachable_tmp, data))]
    out = data / "backups" / backup_name(__import__("datetime").datetime.now().astimezone())
    assert cli.main([*base, "backup", "create", "--dsn", db_dsn, "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"backup written: {out}" in printed and "secret key" in printed
    assert (
        db_dsn.split("@", maxsplit=1)[0].rsplit(":", maxsplit=1)[-1] not in printed
    )  # no password
    with ArchiveReader(out) as reader:
        manifest = reader.manifest()
        reader.verify(manifest)
        names = {x.name for x in manifest.members}
    assert {"database.dump", "config/envgrid.toml", "config/effective.toml"} <= names

    assert cli.main([*base, "backup", "list"]) == 0
    assert out.name in capsys.readouterr().out
    # an existing output, a file that is not a backup, a damaged backup: exit 2
    assert cli.main([*base, "backup", "create", "--dsn", db_dsn, "--output", str(out)]) == 2
    junk = pg_reachable_tmp / "junk.tar"
    junk.write_bytes(b"hello")
    assert cli.main([*base, "backup", "restore", str(junk)]) == 2
    assert "not an envgrid backup" in capsys.readouterr().err
    damaged = pg_reachable_tmp / "damaged.tar"
    raw = bytearray(out.read_bytes())
    raw[1024] ^= 0xFF  # inside database.dump
    damaged.write_bytes(bytes(raw))
    empty = pg_reachable_tmp / "empty"
    code = cli.main([*base, "backup", "restore", str(damaged), "--data-dir", str(empty), "--quiet"])
    assert code == 2
    assert "damaged" in capsys.readouterr().err
    assert not (empty / "pg").exists()  # refused before any cluster was made


async def test_backup_cli_refuses_while_another_backup_runs(
    db_dsn: str, pg_reachable_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The backup lock (store.backup.runs) held elsewhere — the scheduler's run, or one
    asked for on the dashboard: ``envgrid backup create`` exits 1 and writes nothing."""
    data = pg_reachable_tmp / "data"
    out = pg_reachable_tmp / "second.tar"
    argv = ["--config", str(_config(pg_reachable_tmp, data)), "backup", "create"]
    argv += ["--dsn", db_dsn, "--output", str(out), "--quiet"]
    async with backup_lock(db_dsn):
        assert await asyncio.to_thread(cli.main, argv) == 1
    assert "another backup is running" in capsys.readouterr().err
    assert not out.exists() and not list(pg_reachable_tmp.glob(".second.tar*"))


def _config(tmp: Path, data: Path) -> Path:
    path = tmp / "envgrid.toml"
    path.write_text(
        f'[core]\ndata_dir = "{data}"\n\n[database]\nengine = "{TEST_DATABASE.engine}"\n'
        f"embedded_port = {free_port()}\n"
    )
    return path


def test_restore_into_an_external_database_empty_or_forced(
    db_dsn: str, empty_db_dsn: str, pg_reachable_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--config", str(_config(pg_reachable_tmp, pg_reachable_tmp / "data"))]
    out = pg_reachable_tmp / "b.tar"
    assert cli.main([*base, "backup", "create", "--dsn", db_dsn, "--output", str(out)]) == 0

    def restore(data_dir: str, *extra: str) -> int:
        argv = ["backup", "restore", str(out), "--dsn", empty_db_dsn, "--data-dir", data_dir]
        return cli.main([*base, *argv, *extra])

    assert restore(str(pg_reachable_tmp / "one")) == 0
    printed = capsys.readouterr().out
    assert "matches the backup" in printed
    assert (
        empty_db_dsn.split("@", maxsplit=1)[0].rsplit(":", maxsplit=1)[-1] not in printed
    )  # no password
    # the database now holds the restored data: refused without --force, …
    assert restore(str(pg_reachable_tmp / "two")) == 2
    assert "target database is not empty" in capsys.readouterr().err
    # … dropped and restored again with it
    assert restore(str(pg_reachable_tmp / "two"), "--force") == 0


@pytest.mark.timescaledb
async def test_compressed_chunks_restore_compressed_and_identical(
    db_dsn: str, empty_db_dsn: str, pg_reachable_tmp: Path
) -> None:
    conn = await connect(db_dsn)
    try:
        await conn.execute(
            "INSERT INTO measurements_rtd (station_id, factor_id, ts, value, flag)"
            " SELECT i % 50, 1, '2026-11-01'::timestamptz + i * interval '30 s', i / 7.0, 'N'"
            " FROM generate_series(1, 20000) i"
        )
        compressed = await conn.fetchval(
            "SELECT count(compress_chunk(c)) FROM show_chunks('measurements_rtd') c"
        )
        assert compressed >= 1
    finally:
        await conn.close()
    source = make_settings(pg_reachable_tmp / "source", db_dsn)
    backup = await asyncio.to_thread(
        create_backup, backup_sources(source, db_dsn), pg_reachable_tmp / "c.tar"
    )
    assert backup.manifest.rows("measurements_rtd") == 20000
    target_settings = make_settings(pg_reachable_tmp / "target", empty_db_dsn)
    target = RestoreTarget(
        target_settings.core,
        target_settings.database,
        CaseConfig.from_settings(target_settings).uploads_dir,
    )
    await asyncio.to_thread(restore_backup, backup.path, target)  # checks every sum
    conn = await connect(empty_db_dsn)
    try:
        still = await conn.fetchval(
            "SELECT count(*) FROM timescaledb_information.chunks"
            " WHERE hypertable_name = 'measurements_rtd' AND is_compressed"
        )
    finally:
        await conn.close()
    assert still == compressed
