"""``envgrid alerts`` against a real database (and a real SMTP server for test-notify)."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from envgrid.cli import main
from store.stations import NewStation

from .conftest import SmtpServer, register


def run(capsys: pytest.CaptureFixture[str], dsn: str, *argv: str) -> tuple[int, str, str]:
    code = main(["alerts", "--dsn", dsn, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_receivers_responsibilities_limits_silences_and_test_notify(
    db_dsn: str,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="envgrid.changes")
    monkeypatch.setenv("ENVGRID_ALERTS__SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("ENVGRID_ALERTS__SMTP_PORT", str(smtp_server.port))
    ids = asyncio.run(
        register(
            db_dsn, NewStation("AQ0000000000000000000001", "1", "西湖站", "22", region="西湖区")
        )
    )
    sid = str(next(iter(ids.values())))

    code, out, _ = run(
        capsys, db_dsn, "receiver", "add", "运维组", "--kind", "email", "--address", "ops@x.cn"
    )
    assert code == 0 and "receiver 运维组 added" in out
    code, _, err = run(
        capsys, db_dsn, "receiver", "add", "bad", "--kind", "email", "--address", "nobody"
    )
    assert code == 2 and "email addresses" in err
    code, out, _ = run(
        capsys, db_dsn, "responsible", "运维组", "--role", "maintainer", "--region", "西湖区"
    )
    assert code == 0 and "maintainer for region 西湖区" in out

    code, out, _ = run(capsys, db_dsn, "limit", "set", "a34004", "--upper", "70", "--station", sid)
    assert code == 0
    code, out, _ = run(capsys, db_dsn, "limits", sid)
    pm25 = next(json.loads(line) for line in out.splitlines() if '"a34004"' in line)
    assert pm25["exceedance"]["upper"] == 70.0

    code, out, _ = run(
        capsys,
        db_dsn,
        "--json",
        "silence",
        "add",
        "--station",
        sid,
        "--for",
        "2h",
        "--user",
        "张三",
    )
    silence = json.loads(out)["id"]
    code, out, _ = run(capsys, db_dsn, "silence", "list")
    assert f"{silence:>5}  active" in out
    code, out, _ = run(capsys, db_dsn, "silence", "expire", str(silence))
    assert code == 0
    code, out, _ = run(capsys, db_dsn, "silence", "list")
    assert out == ""
    # each change made a log line (the refused receiver none), naming who made it
    changes = [r for r in caplog.records if r.name == "envgrid.changes"]
    assert [(r.change, r.action) for r in changes] == [  # type: ignore[attr-defined]
        ("receiver", "added"),
        ("responsibility", "added"),
        ("limit", "set"),
        ("silence", "added"),
        ("silence", "expired"),
    ]
    assert all(r.by.startswith("cli") for r in changes)  # type: ignore[attr-defined]

    code, out, _ = run(capsys, db_dsn, "test-notify", "运维组")
    assert code == 0 and "sent to 运维组" in out
    assert smtp_server.mailbox.subjects() == ["【环境监测告警】测试消息"]
    code, out, _ = run(capsys, db_dsn, "notifications")
    assert "sent" in out and "测试消息" in out

    code, out, _ = run(capsys, db_dsn, "list")
    assert code == 0 and out == ""
    code, _, err = run(capsys, db_dsn, "ack", "999", "--user", "x")
    assert code == 2 and "alert 999 does not exist" in err
    code, out, _ = run(capsys, db_dsn, "routes")
    assert "运维人员" in out and "监管人员" in out
