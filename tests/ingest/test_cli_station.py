"""``envgrid station add --area-class`` and ``envgrid station set``: the GB 3095 功能区类别
from the command line, on a real database."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

from ingest import cli_station
from store.db import connect
from store.stations import StationError, add_station, update_station
from tests.ptyio import TerminalBuffer

from .conftest import make_settings


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="envgrid station")
    cli_station.configure(parser)
    return parser.parse_args(argv)


async def _class_of(dsn: str, mn: str) -> int:
    conn = await connect(dsn)
    try:
        return int(await conn.fetchval("SELECT area_class FROM stations WHERE mn = $1", mn))
    finally:
        await conn.close()


async def test_add_and_set_area_class(
    db_dsn: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, db_dsn)
    conn = await connect(db_dsn)
    try:
        for argv in (
            ("add", "CLI1", "--password", "pw1", "--st", "22", "--area-class", "1"),
            ("add", "CLI2", "--password", "pw2", "--st", "22"),
        ):
            args = _parse(*argv)
            assert await cli_station.ACTIONS[args.action](conn, args, settings) == 0
    finally:
        await conn.close()
    assert await _class_of(db_dsn, "CLI1") == 1
    assert await _class_of(db_dsn, "CLI2") == 2  # the default: 二类区
    conn = await connect(db_dsn)
    try:
        args = _parse("set", "CLI2", "--area-class", "1", "--name", "保护区站")
        assert await cli_station.ACTIONS["set"](conn, args, settings) == 0
        assert "area_class, name" in capsys.readouterr().out
        with pytest.raises(StationError, match="nothing to change"):
            await cli_station.ACTIONS["set"](conn, _parse("set", "CLI2"), settings)
        with pytest.raises(StationError, match="no station with MN NOPE"):
            args = _parse("set", "NOPE", "--area-class", "2")
            await cli_station.ACTIONS["set"](conn, args, settings)
    finally:
        await conn.close()
    assert await _class_of(db_dsn, "CLI2") == 1


@pytest.mark.parametrize("value", ["3", "0", "二"])
def test_bad_area_class_is_refused_by_the_parser(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (("add", "X", "--area-class", value), ("set", "X", "--area-class", value)):
        with pytest.raises(SystemExit) as info:
            _parse(*argv)
        assert info.value.code == 2
    assert "--area-class" in capsys.readouterr().err


async def test_store_refuses_a_bad_class(db_dsn: str) -> None:
    conn = await connect(db_dsn)
    try:
        with pytest.raises(StationError, match="area_class must be 1 or 2"):
            await add_station(conn, "BAD1", area_class=3)
        await add_station(conn, "OK1")
        with pytest.raises(StationError, match="area_class must be 1 or 2"):
            await update_station(conn, "OK1", area_class=True)
    finally:
        await conn.close()


async def test_import_shows_progress_on_a_terminal_only(
    db_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path, db_dsn)
    fleet = tmp_path / "fleet.json"
    fleet.write_text(
        "\n".join(json.dumps({"mn": f"IMP{n}", "pw": f"pw{n}", "st": "22"}) for n in range(3))
    )
    for name in ("TTY_COMPATIBLE", "TTY_INTERACTIVE", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    conn = await connect(db_dsn)
    try:
        args = _parse("import", str(fleet))
        assert await cli_station.ACTIONS["import"](conn, args, settings) == 0
        piped = capsys.readouterr()
        assert piped.out == "3 stations registered (existing MNs updated)\n"
        assert piped.err == ""  # stderr is no terminal: no display
        terminal = TerminalBuffer()
        monkeypatch.setattr(sys, "stderr", terminal)
        assert await cli_station.ACTIONS["import"](conn, args, settings) == 0
        assert "registering 3 stations" in terminal.getvalue()
        assert "100%" in terminal.getvalue()
        quiet = TerminalBuffer()
        monkeypatch.setattr(sys, "stderr", quiet)
        args = _parse("import", str(fleet), "--quiet")
        assert await cli_station.ACTIONS["import"](conn, args, settings) == 0
        assert quiet.getvalue() == ""
        fleet.write_text('{"mn": "IMP9"}')
        with pytest.raises(StationError, match=r"item 1 \(IMP9\) has no 'pw'"):
            await cli_station.ACTIONS["import"](conn, _parse("import", str(fleet)), settings)
        fleet.write_text('{"not": "a list"}')
        with pytest.raises(StationError, match="has no 'mn'"):
            await cli_station.ACTIONS["import"](conn, _parse("import", str(fleet)), settings)
        assert await conn.fetchval("SELECT count(*) FROM stations WHERE mn LIKE 'IMP%'") == 3
    finally:
        await conn.close()
