"""``envgrid forward add|list|status|remove`` in-process on a real database: secrets never
printed, bad input exits 2 with a message naming the field."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from envgrid.settings import Settings
from forward import cli

SECRET_PW = "Up-Secret-PW-1"
SECRET_KEY = "K3yK3yK3yK3yK3y!"


def forward(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="envgrid forward")
    cli.configure(parser)
    return cli.run(parser.parse_args(argv), lambda overrides: settings)


def test_add_list_status_remove(
    db_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mn_map = tmp_path / "map.csv"
    mn_map.write_text("local,remote\nA0001,P0001\n", encoding="utf-8")
    assert (
        forward(
            db_settings,
            "add",
            "prov",
            "--host",
            "127.0.0.1",
            "--port",
            "9",
            "--password",
            SECRET_PW,
            "--edition",
            "2025",
            "--sm4-key",
            SECRET_KEY,
            "--mn-map",
            str(mn_map),
            "--cn",
            "2061,2031",
            "--alert-after",
            "15",
            "--since",
            "2026-01-01",
        )
        == 0
    )
    assert forward(db_settings, "list") == 0
    assert forward(db_settings, "status") == 0
    assert forward(db_settings, "status", "--json") == 0
    out = capsys.readouterr().out
    assert SECRET_PW not in out and SECRET_KEY not in out and "enc:v1" not in out
    listed = json.loads(out.splitlines()[1])
    assert listed["name"] == "prov" and listed["cns"] == [2061, 2031]
    assert listed["has_password"] and listed["encrypted"] and listed["mapped_mns"] == 1
    status = json.loads(out[out.index("\n[") :])
    assert status[0]["connected"] is False and status[0]["backlog"] == 0
    assert "未连接" in out
    assert forward(db_settings, "remove", "prov") == 0
    assert forward(db_settings, "remove", "prov") == 2
    assert "no forward target named prov" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "0"], "port 0"),
        (["--port", "9", "--sm4-key", SECRET_KEY], "needs --edition 2025"),
        (["--port", "9", "--cn", "9014"], "cannot be forwarded"),
        (["--port", "9", "--stations", "NOSUCHMN"], "unknown station MN: NOSUCHMN"),
        (["--port", "9", "--mn-map", "/nonexistent.csv"], "--mn-map"),
        (["--port", "9", "--since", "yesterday"], "--since 'yesterday' is not an ISO"),
    ],
)
def test_bad_input_exits_2(
    db_settings: Settings, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert forward(db_settings, "add", "x", "--host", "h", *argv) == 2
    err = capsys.readouterr().err
    assert message in err and SECRET_KEY not in err


def test_name_taken(db_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert forward(db_settings, "add", "x", "--host", "h", "--port", "9") == 0
    assert forward(db_settings, "add", "x", "--host", "h", "--port", "9") == 2
    assert "exists" in capsys.readouterr().err
