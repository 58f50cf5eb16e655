"""``envgrid station add --area-class`` and ``envgrid station set``: the GB 3095 功能区类别
from the command line, on a real database."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from ingest import cli_station
from store.db import connect
from store.stations import StationError, add_station, update_station

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
