"""``envgrid grid``: import / export GeoJSON, list people, assign stations by position."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from envgrid.cli import main
from store.db import connect
from tests.ptyio import TerminalBuffer
from tests.web.casework.conftest import build_world, square
from tests.web.casework.web_fixture import fetch_rows


def _world(dsn: str) -> None:
    async def go() -> None:
        conn = await connect(dsn)
        try:
            await build_world(conn)
            await conn.execute(
                "INSERT INTO stations (mn, name, st, lat, lon) VALUES"
                " ('X1', '网格二站', '22', 30.15, 120.05), ('X2', '海上站', '22', 10.0, 10.0)"
            )
        finally:
            await conn.close()

    asyncio.run(go())


def test_grid_cli(db_dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _world(db_dsn)
    out = tmp_path / "grid.geojson"
    assert main(["grid", "--dsn", db_dsn, "export", "--out", str(out)]) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    assert len(document["features"]) == 10
    assert main(["grid", "--dsn", db_dsn, "export", "--area", "D2"]) == 0
    sub = json.loads(capsys.readouterr().out)
    assert {f["properties"]["code"] for f in sub["features"]} == {"D2", "S2", "M2", "G3"}

    document["features"].append(
        {
            "type": "Feature",
            "geometry": square(120.1, 30.1, 120.2, 30.2),
            "properties": {"code": "G4", "name": "网格四", "level": 5, "parent_code": "S1"},
        }
    )
    out.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    assert main(["grid", "--dsn", db_dsn, "import", str(out)]) == 2  # G4 under a street: refused
    assert "其上级 S1 须为第 4 级" in capsys.readouterr().err
    document["features"][-1]["properties"]["parent_code"] = "M1"
    out.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    assert main(["grid", "--dsn", db_dsn, "import", str(out), "--dry-run"]) == 0
    assert "11 areas valid" in capsys.readouterr().out
    assert fetch_rows(db_dsn, "SELECT count(*) FROM areas") == [(10,)]
    assert main(["grid", "--dsn", db_dsn, "import", str(out)]) == 0
    piped = capsys.readouterr()
    assert "1 areas created, 10 updated" in piped.out
    # stderr is no terminal: the warning, and no progress display
    assert piped.err.splitlines() == ["警告：区域 G4（网格四）有 100.0% 的面积超出上级 M1 的边界"]
    terminal = TerminalBuffer()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "stderr", terminal)
        assert main(["grid", "--dsn", db_dsn, "import", str(out)]) == 0
    assert "importing grid.geojson" in terminal.getvalue() and "100%" in terminal.getvalue()
    assert "0 areas created, 11 updated" in capsys.readouterr().out

    # stations: X1 lies in G2, X2 in no grid (exit status 1 says so)
    assert main(["grid", "--dsn", db_dsn, "assign-stations"]) == 1
    text = capsys.readouterr().out
    assert "stations: 1 assigned, 0 unchanged, 1 outside every grid" in text
    assert fetch_rows(db_dsn, "SELECT a.code FROM stations s JOIN areas a ON a.id = s.grid_id"
                  " WHERE s.mn = 'X1'") == [("G2",)]  # fmt: skip

    assert main(["grid", "--dsn", db_dsn, "people", "--role", "grid_member"]) == 0
    listing = capsys.readouterr().out
    assert "网格员甲  grid_member 职责 G1网格员" in listing and "网格长" in listing
    assert main(["grid", "--dsn", db_dsn, "people", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 8 and {r["role"] for r in rows} >= {"unit", "officer"}
