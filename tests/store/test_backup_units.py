"""The pure parts of backups: settings, manifest, comparison, rotation, member names,
and the archive format (streamed members with their header written afterwards)."""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from store.backup.archive import ArchiveReader, ArchiveWriter, safe_relative
from store.backup.catalog import list_backups, prune_backups, to_remove
from store.backup.manifest import (
    BackupInputError,
    Manifest,
    Member,
    TableSum,
    compare_tables,
)
from store.backup.runs import ProgressSteps
from store.backup.settings import BackupSettings
from store.backup.snapshot import table_sums
from store.validation import ConfigError


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({}, None),
        ({"schedule": "02:30"}, None),
        ({"schedule": "23:59", "keep": 1}, None),
        ({"schedule": "24:00"}, "backup.schedule must be HH:MM"),
        ({"schedule": "2:30am"}, "backup.schedule must be HH:MM"),
        ({"schedule": "０２:３０"}, "backup.schedule must be HH:MM"),
        ({"keep": 0}, "backup.keep must be ≥ 1"),
        ({"copy_timeout_s": 0}, "backup.copy_timeout_s must be > 0"),
        ({"copy_command": "rclone 'copy"}, "backup.copy_command cannot be parsed"),
        ({"copy_command": "   "}, "backup.copy_command is blank"),
    ],
)
def test_settings(fields: dict[str, object], error: str | None) -> None:
    if error is None:
        BackupSettings(**fields)  # type: ignore[arg-type]
    else:
        with pytest.raises(ConfigError, match=error):
            BackupSettings(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        ("", []),
        ("rclone copy {file} off:envgrid/", ["rclone", "copy", "/b/x.tar", "off:envgrid/"]),
        ("scp -q", ["scp", "-q", "/b/x.tar"]),
        ("sh -c 'cp \"$0\" /mnt/usb/' {file}", ["sh", "-c", 'cp "$0" /mnt/usb/', "/b/x.tar"]),
    ],
)
def test_copy_argv(command: str, argv: list[str]) -> None:
    assert BackupSettings(copy_command=command).copy_argv(Path("/b/x.tar")) == argv


def test_backup_dir_defaults_to_the_data_dir() -> None:
    assert BackupSettings().directory(Path("/var/lib/envgrid")) == Path("/var/lib/envgrid/backups")
    assert BackupSettings(dir=Path("/srv/b")).directory(Path("/x")) == Path("/srv/b")


A = TableSum("measurements_rtd", 10, "123")
B = TableSum("agg_hourly_rtd", 2, "9")


@pytest.mark.parametrize(
    ("expected", "actual", "checksums", "problems"),
    [
        ([A, B], [B, A], True, []),
        ([A], [TableSum("measurements_rtd", 11, "123")], True, ["measurements_rtd: 11 rows, the backup has 10"]),
        ([A], [TableSum("measurements_rtd", 10, "124")], True, ["measurements_rtd: checksum differs (10 rows)"]),
        ([A, B], [A], True, ["agg_hourly_rtd: missing after the restore"]),
        ([A], [A, B], True, ["agg_hourly_rtd: not in the backup"]),
        ([A], [TableSum("measurements_rtd", 99)], False, []),  # estimates differ
    ],
)  # fmt: skip
def test_compare_tables(
    expected: list[TableSum], actual: list[TableSum], checksums: bool, problems: list[str]
) -> None:
    assert compare_tables(expected, actual, checksums=checksums) == problems


@pytest.mark.parametrize(
    ("names", "keep", "removed"),
    [
        ([], 7, []),
        (["envgrid-20261201T000000Z.tar"], 1, []),
        (
            ["envgrid-20261203T000000Z.tar", "envgrid-20261201T000000Z.tar",
             "envgrid-20261202T000000Z.tar"],
            2,
            ["envgrid-20261201T000000Z.tar"],
        ),
        (["a", "b", "c", "d"], 1, ["a", "b", "c"]),
    ],
)  # fmt: skip
def test_to_remove(names: list[str], keep: int, removed: list[str]) -> None:
    assert to_remove(names, keep) == removed


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("2026/12/a.jpg", True),
        ("a.jpg", True),
        ("", False),
        ("/etc/passwd", False),
        ("../secret.key", False),
        ("2026/../../x", False),
    ],
)
def test_member_names_stay_inside(name: str, ok: bool) -> None:
    if ok:
        assert str(safe_relative(name)) == name
    else:
        with pytest.raises(BackupInputError, match="unsafe member name"):
            safe_relative(name)


def _manifest(members: tuple[Member, ...] = ()) -> Manifest:
    return Manifest(
        created_at="2026-12-06T18:30:00+00:00",
        envgrid_version="0.1.0",
        host="h",
        engine="postgresql",
        server_version="15.20",
        pg_dump_version="15.20",
        database="envgrid",
        schema_version=64,
        members=members,
        tables=(A, B),
        notes=("n",),
    )


def test_manifest_round_trip_and_refusals() -> None:
    m = _manifest((Member("database.dump", 3, "ab"),))
    assert Manifest.from_json(m.to_json()) == m
    for data, error in [
        (b"{", "not valid JSON"),
        (b"[]", "not a JSON object"),
        (b'{"format": "other/9"}', "unknown backup format"),
        (b'{"format": "envgrid-backup/1"}', "incomplete or malformed"),
    ]:
        with pytest.raises(BackupInputError, match=error):
            Manifest.from_json(data)


def test_archive_streams_members_of_unknown_size(tmp_path: Path) -> None:
    chunks = [bytes([i]) * (700_000 + i) for i in range(4)]  # crosses several tar blocks
    path = tmp_path / "envgrid-20261206T183000Z.tar"
    writer = ArchiveWriter(path)
    dump = writer.add_stream("database.dump", iter(chunks))
    writer.add_bytes("config/effective.toml", b"[core]\n")
    src = tmp_path / "photo.jpg"
    src.write_bytes(b"jpeg" * 1000)
    writer.add_file(src, "uploads/2026/12/photo.jpg")
    writer.finish(_manifest(tuple(writer.members)))
    assert path.stat().st_mode & 0o777 == 0o600
    data = b"".join(chunks)
    assert dump == Member("database.dump", len(data), hashlib.sha256(data).hexdigest())
    # any tar reader sees the streamed member whole
    with tarfile.open(path) as tar:
        assert tar.getnames()[-1] == "manifest.json"
        handle = tar.extractfile("database.dump")
        assert handle is not None and handle.read() == data
    with ArchiveReader(path) as reader:
        manifest = reader.manifest()
        reader.verify(manifest)
        reader.extract(manifest.members[2], tmp_path / "out" / "p.jpg")
    assert (tmp_path / "out" / "p.jpg").read_bytes() == src.read_bytes()
    # listing and rotation see it; a foreign file with the name is listed as unreadable
    (tmp_path / "envgrid-20261205T000000Z.tar").write_bytes(b"junk")
    entries = list_backups(tmp_path)
    assert [e.manifest is not None for e in entries] == [False, True]
    assert "not an envgrid backup" in entries[0].error
    assert prune_backups(tmp_path, 1) == [tmp_path / "envgrid-20261205T000000Z.tar"]

    # one flipped byte in the dump: refused, and nothing is left behind
    raw = bytearray(path.read_bytes())
    raw[512 + 100] ^= 1
    damaged = tmp_path / "damaged.tar"
    damaged.write_bytes(bytes(raw))
    with ArchiveReader(damaged) as reader:
        member = reader.manifest().members[0]
        with pytest.raises(BackupInputError, match=r"database\.dump is damaged"):
            reader.extract(member, tmp_path / "x" / "database.dump")
    assert list((tmp_path / "x").iterdir()) == []


async def test_table_sums_ignore_row_order_and_fall_back_to_text(db_conn: Any) -> None:
    for name, order in (("t_sum_a", "ASC"), ("t_sum_b", "DESC")):
        await db_conn.execute(
            f"CREATE TABLE {name} (id int, at timestamptz, v double precision, doc json, p point)"
        )
        await db_conn.execute(
            f"INSERT INTO {name} SELECT i, '2026-12-06'::timestamptz + i * interval '1 s',"
            f" i / 3.0, json_build_object('i', i), point(i, i) FROM generate_series(1, 500) i"
            f" ORDER BY i {order}"
        )
    await db_conn.execute("CREATE TABLE t_sum_c (id int, v double precision)")
    await db_conn.execute("INSERT INTO t_sum_c SELECT i, i / 3.0 FROM generate_series(1, 500) i")
    sums = {t.name: t for t in await table_sums(db_conn, checksums=True)}
    a, b, c = sums["t_sum_a"], sums["t_sum_b"], sums["t_sum_c"]
    assert a.rows == b.rows == c.rows == 500
    assert a.checksum == b.checksum != c.checksum  # json/point: summed by the rows' text
    await db_conn.execute("UPDATE t_sum_b SET v = v + 1e-9 WHERE id = 250")
    after = {t.name: t for t in await table_sums(db_conn, checksums=True)}
    assert after["t_sum_b"].checksum != a.checksum
    estimates = {t.name: t for t in await table_sums(db_conn, checksums=False)}
    assert estimates["t_sum_a"].checksum is None


def test_progress_steps_remember_the_current_step() -> None:
    steps = ProgressSteps()
    assert steps.snapshot() == ("", 0, None)
    with steps.step("database (pg_dump)"):
        steps.advance(10)
        steps.advance(5)
        assert steps.snapshot() == ("database (pg_dump)", 15, None)
    with steps.step("uploads", 100):
        steps.advance(40)
        assert steps.snapshot() == ("uploads", 40, 100)


def test_terminal_steps_draw_bytes_on_the_clis_display(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backup and restore draw on the one progress display of the CLIs (store.progress):
    on a terminal a step shows its bytes; piped or --quiet, nothing at all."""
    from store.backup.progress import QUIET, terminal_steps
    from tests.ptyio import TerminalBuffer

    screen = TerminalBuffer()
    monkeypatch.setattr(sys, "stderr", screen)
    steps = terminal_steps()
    assert steps is not QUIET
    with steps.step("dumping the database", total=3_000_000):
        steps.advance(1_500_000)
    assert "dumping the database" in screen.getvalue() and "1.5 MB / 3.0 MB" in screen.getvalue()
    assert terminal_steps(quiet=True) is QUIET
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a pipe
    assert terminal_steps() is QUIET
