"""``envgrid simulate``: flags → config, errors, identities, a real run."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path

import pytest

from envgrid.cli import build_parser, main
from simulators.cli import build_config
from simulators.faults import FaultKind
from tests.ptyio import TerminalBuffer

from .fake_platform import FakePlatform


def parse(*argv: str) -> object:
    args = ["simulate", *argv]
    return build_parser(args).parse_args(args)


def test_flags_map_onto_the_config() -> None:
    config = build_config(
        parse(  # type: ignore[arg-type]
            "--port",
            "7000",
            "--stations",
            "12",
            "--edition",
            "mix",
            "--st",
            "22,31,32",
            "--rtd-interval",
            "60",
            "--minute",
            "10",
            "--hourly",
            "--daily",
            "--time-scale",
            "60",
            "--start-time",
            "20240501080000",
            "--duration",
            "30",
            "--max-frames",
            "500",
            "--faults",
            "offline:0.01:20m,badcrc:0.001",
            "--source-addresses",
            "2",
            "--centre",
            "39.9,116.4",
            "--radius-km",
            "30",
            "--regions",
            "6",
            "--pace",
            "fast",
            "--window",
            "8",
            "--ack-timeout",
            "5",
            "--retries",
            "2",
            "--no-history-ack",
        )
    )
    assert config.port == 7000 and config.stations == 12 and config.edition == "mix"
    assert config.st == ("22", "31", "32") and config.rtd_interval == 60
    assert config.min_interval == 10 and config.hourly and config.daily
    assert config.time_scale == 60 and config.duration == 30 and config.max_frames == 500
    assert [f.kind for f in config.faults] == [FaultKind.OFFLINE, FaultKind.BADCRC]
    assert config.faults[0].value == 1200
    assert config.source_addresses == ("127.0.0.1", "127.0.0.2")
    assert (config.area.lat, config.area.lon, config.area.radius_km, config.area.regions) == (
        39.9,
        116.4,
        30,
        6,
    )
    assert config.pace == "fast" and config.window == 8 and config.retries == 2
    assert not config.history_ack
    assert config.start_time == 1714521600.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--faults", "flood:0.1"], "unknown kind 'flood'"),
        (["--host", "10.0.0.5"], "only targets loopback"),
        (["--rtd-interval", "5"], "RtdInterval must be 30..3600"),
        (["--minute", "7"], "MinInterval must be one of"),
        (["--st", "99"], "no simulator profile for ST '99'"),
        (["--start-time", "soon"], "neither ISO 8601"),
        (["--centre", "30.2"], "LAT,LON"),
        (["--replay", "/nonexistent.txt", "--duration", "1"], "cannot read it"),
    ],
)
def test_bad_settings_exit_2_with_a_reason(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", *argv]) == 2
    err = capsys.readouterr().err
    assert "envgrid simulate: error:" in err and message in err


def test_help_documents_the_fault_grammar(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    out = capsys.readouterr().out
    assert "KIND:PROB[:PARAM]" in out and "offline:P[:DUR]" in out and "--time-scale" in out


def test_list_stations(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            ["simulate", "--stations", "3", "--st", "22,32", "--edition", "2005", "--list-stations"]
        )
        == 0
    )
    stations = json.loads(capsys.readouterr().out)
    assert [s["st"] for s in stations] == ["22", "32", "22"]
    assert all(len(s["mn"]) == 14 and s["pw"] == "123456" for s in stations)
    assert set(stations[0]) >= {"mn", "pw", "st", "edition", "lat", "lon", "region", "name"}


async def test_a_run_writes_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "summary.json"
    async with FakePlatform() as platform:
        argv = [
            "simulate",
            "--port",
            str(platform.port),
            "--stations",
            "3",
            "--duration",
            "1",
            "--time-scale",
            "60",
            "--drain",
            "1",
            "--json",
            str(out),
            "--progress",
            "--no-uvloop",
        ]
        code = await asyncio.to_thread(main, argv)
    assert code == 0
    summary = json.loads(out.read_text())
    assert summary["schema"] == "envgrid.simulate/1" and summary["mode"] == "fleet"
    assert summary["totals"]["frames"]["sent"] == summary["totals"]["frames"]["acked"] > 3
    assert len(summary["stations"]) == 3
    err = capsys.readouterr().err
    # the progress line (how many are up at its tick depends on the machine's load)
    assert re.search(r"\] up [0-3]/3 ", err), err
    assert "frames: sent" in err  # the human summary


async def test_a_terminal_gets_the_rich_display(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TTY_COMPATIBLE", "TTY_INTERACTIVE", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    terminal = TerminalBuffer()
    monkeypatch.setattr(sys, "stderr", terminal)
    async with FakePlatform() as platform:
        argv = ["simulate", "--port", str(platform.port), "--stations", "2", "--duration", "1"]
        argv += ["--time-scale", "60", "--drain", "1", "--no-uvloop"]
        code = await asyncio.to_thread(main, argv)
    assert code == 0
    text = terminal.getvalue()
    assert "simulate 2 stations" in text and "100%" in text  # the task, finished
    assert re.search(r"\] up [0-2]/2 ", text), text  # its status: the rate line
    assert "frames: sent" in text  # the human summary, after the display
