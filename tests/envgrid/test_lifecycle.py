"""Log lines for start, stop, migrations and configuration changes: ``envgrid serve`` as
an operator runs it (twice, the configuration changed in between), and the record of the
configuration on its own."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from envgrid.lifecycle import SETTINGS_RECORD, changes, record_settings
from envgrid.settings import load_settings
from tests.conftest import REPO_ROOT, free_port


def serve_once(env: dict[str, str]) -> str:
    """Start ``envgrid serve --no-web --no-alerts``, wait until it runs, SIGTERM it;
    its whole output (stdout and the log)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "envgrid", "serve", "--no-web", "--no-alerts"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    try:
        assert server.stdout is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            lines.append(line)
            if line.startswith("Stop with Ctrl-C") or not line:
                break
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            rest, _ = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            rest, _ = server.communicate()
    out = "".join(lines) + rest
    assert server.returncode == 0, out[-3000:]
    return out


@pytest.mark.slow
def test_serve_logs_start_migrations_configuration_changes_and_stop(
    tmp_path: Path, empty_db_dsn: str
) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ENVGRID_")}
    env = {
        **base,
        "PYTHONPATH": str(REPO_ROOT),
        "ENVGRID_DSN": empty_db_dsn,
        "ENVGRID_DATA_DIR": str(tmp_path / "var"),
        "ENVGRID_INGEST__PORT": str(free_port()),
        "ENVGRID_INGEST__METRICS_PORT": str(free_port()),
        "ENVGRID_INGEST__WORKERS": "1",
    }
    first = serve_once(env)
    for expected in (
        "envgrid starting (pid ",
        "configuration recorded for the first time",
        "applied migration 0001",
        "envgrid running: HJ 212 on 0.0.0.0:",
        "envgrid stopping on SIGTERM",
        "stopped envgrid-ingest-0 (pid ",
        "envgrid stopped (in ",
    ):
        assert expected in first, (expected, first[-3000:])
    assert first.index("envgrid stopping on SIGTERM") < first.index("envgrid stopped (in ")

    second = serve_once({**env, "ENVGRID_INGEST__BATCH_MS": "60"})
    assert "configuration changed: ingest.batch_ms 80 -> 60" in second, second[-3000:]
    assert "applied migration" not in second
    assert second.count("configuration changed:") == 1

    third = serve_once({**env, "ENVGRID_INGEST__BATCH_MS": "60"})
    assert "configuration unchanged since the last start" in third


def test_changes_lists_changed_added_and_removed_settings() -> None:
    before = {"ingest": {"port": 8212, "gone": 1}, "web": {"host": "127.0.0.1"}}
    after = {"ingest": {"port": 2121, "new": True}, "web": {"host": "127.0.0.1"}}
    assert changes(before, after) == [
        ("ingest.port", 8212, 2121),
        ("ingest.new", None, True),
        ("ingest.gone", 1, None),
    ]


def test_the_record_keeps_no_secret_and_a_broken_record_counts_as_none(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(
        None,
        {
            "ENVGRID_DSN": "postgresql://envgrid:hunter2@db/envgrid",
            "ENVGRID_ALERTS__SMTP_PASSWORD": "pw1",
            "ENVGRID_ALERTS__SMTP_USER": "u",
        },
        discover=False,
    )
    (tmp_path / SETTINGS_RECORD).parent.mkdir(parents=True)
    (tmp_path / SETTINGS_RECORD).write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="envgrid.lifecycle"):
        assert record_settings(settings, tmp_path) == []
    assert "configuration recorded for the first time" in caplog.text
    text = (tmp_path / SETTINGS_RECORD).read_text(encoding="utf-8")
    assert "hunter2" not in text and "pw1" not in text
    assert json.loads(text)["database"]["dsn"] == "postgresql://envgrid:***@db/envgrid"

    caplog.clear()
    moved = load_settings(
        None,
        {
            "ENVGRID_DSN": "postgresql://envgrid:other@db2/envgrid",
            "ENVGRID_ALERTS__SMTP_PASSWORD": "pw2",
            "ENVGRID_ALERTS__SMTP_USER": "u",
        },
        discover=False,
    )
    with caplog.at_level(logging.INFO, logger="envgrid.lifecycle"):
        found = record_settings(moved, tmp_path)
    # A new password alone is not seen (masked both times); a new host is.
    assert found == [
        (
            "database.dsn",
            "postgresql://envgrid:***@db/envgrid",
            "postgresql://envgrid:***@db2/envgrid",
        )
    ]
    assert "other" not in caplog.text


def test_the_copy_command_is_not_logged_or_recorded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """backup.copy_command carries the off-site credentials (``--s3-secret=…``): masked in
    the record and in the "configuration changed" line, like a password."""
    secret = "CopyS3cret-991"
    plain = load_settings(None, {}, discover=False)
    record_settings(plain, tmp_path)
    command = f"rclone copy {{file}} remote:bucket --s3-secret-access-key={secret}"
    with_copy = load_settings(None, {"ENVGRID_BACKUP__COPY_COMMAND": command}, discover=False)
    with caplog.at_level(logging.INFO, logger="envgrid.lifecycle"):
        found = record_settings(with_copy, tmp_path)
    assert found == [("backup.copy_command", "", "***")]
    assert secret not in caplog.text
    assert secret not in (tmp_path / SETTINGS_RECORD).read_text(encoding="utf-8")
