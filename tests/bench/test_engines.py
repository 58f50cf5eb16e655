"""The benchmarks' engine label and side-by-side legs (issue 17, defect 9).

The label of a figure comes from the database it measured, never from the installed
files; ``--engines`` legs carry their engine, and a leg whose engine is not installed is
skipped with the reason before anything starts.  Nothing here starts a server or a
cluster of its own: the database tests use the suite's per-test databases.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import cli, engines
from bench.aggregates import run_refresh_cost
from bench.engines import BINDIR, ENGINE, Leg, describe_engine, legs, parse_engines
from bench.proc import machine_info
from bench.report import write_report
from bench.scenarios import cpu_per_frame
from bench.server import inherited_environment
from envgrid.settings import load_settings
from store.engine import Engine, EngineInfo
from store.pg_installation import PgInstallation
from tests.conftest import TEST_DATABASE, PgServer
from tests.ptyio import TerminalBuffer

NOT_INSTALLED = "TimescaleDB is not installed"


def _settings_for(overrides: Any = None) -> Any:
    """As ``envgrid bench`` loads settings: defaults and overrides only."""
    return load_settings(None, {}, overrides or {}, discover=False)


def _no_timescaledb(monkeypatch: pytest.MonkeyPatch, bindir: str = "/opt/pg/bin") -> None:
    fake = PgInstallation(Path(bindir), Path("/opt/pg/lib"), Path("/opt/pg/share"), "15.20")
    monkeypatch.setattr(engines, "find_installation", lambda _bindir=None: fake)
    monkeypatch.setattr(engines, "timescaledb_available", lambda _bindir: False)


# -- the label comes from the database -----------------------------------------------------------
def test_machine_info_does_not_guess_the_engine() -> None:
    info = machine_info()
    assert "engine" not in info
    assert "postgresql_installed" in info


async def test_engine_label_is_read_from_the_database(db_dsn: str, engine_info: EngineInfo) -> None:
    label = await describe_engine(db_dsn)
    assert label.startswith(f"PostgreSQL {engine_info.server_version}")
    if engine_info.engine is Engine.TIMESCALEDB:
        assert f"TimescaleDB {engine_info.timescaledb_version}" in label
        assert engine_info.license in label
    else:
        assert "native partitions and rollup tables" in label
        assert "TimescaleDB 2" not in label


# -- the legs of --engines -------------------------------------------------------------------------
def test_parse_engines() -> None:
    assert parse_engines("postgres, timescaledb") == ["postgres", "timescaledb"]
    with pytest.raises(ValueError, match="'mysql' is not one of"):
        parse_engines("postgres,mysql")
    with pytest.raises(ValueError, match="repeated"):
        parse_engines("postgres,postgres")


def test_a_leg_without_timescaledb_is_skipped_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _no_timescaledb(monkeypatch)
    plain, tsdb = legs(["postgres", "timescaledb"], {"ingest.batch_ms": "100"})
    assert plain == Leg("postgres", {"ingest.batch_ms": "100", ENGINE: "postgres"})
    assert tsdb.overrides == {"ingest.batch_ms": "100", ENGINE: "timescaledb"}
    assert NOT_INSTALLED in tsdb.skipped and "/opt/pg/bin" in tsdb.skipped
    assert "ENVGRID_DATABASE__EMBEDDED_BINDIR" in tsdb.skipped
    # against a server of the user's (--dsn) the database says what it runs
    assert legs(["timescaledb"], {}, embedded=False)[0].skipped == ""


def test_the_environment_gives_only_the_engine_and_the_binaries() -> None:
    environ = {
        "ENVGRID_DATABASE__ENGINE": "timescaledb",
        "ENVGRID_DATABASE__EMBEDDED_BINDIR": "/tsdb/bin",
        "ENVGRID_INGEST__BATCH_MS": "5",
        "ENVGRID_DSN": "postgresql://elsewhere/db",
        "PATH": "/usr/bin",
    }
    assert cli.with_environment({}, environ) == {ENGINE: "timescaledb", BINDIR: "/tsdb/bin"}
    assert cli.with_environment({ENGINE: "postgres"}, environ)[ENGINE] == "postgres"
    assert inherited_environment(environ) == {
        "ENVGRID_DATABASE__ENGINE": "timescaledb",
        "ENVGRID_DATABASE__EMBEDDED_BINDIR": "/tsdb/bin",
        "PATH": "/usr/bin",
    }


def _args(*argv: str) -> Any:
    import argparse

    parser = argparse.ArgumentParser()
    cli.configure(parser)
    return parser.parse_args(list(argv))


def test_engines_and_set_engine_exclude_each_other() -> None:
    args = _args("throughput", "--engines", "postgres", "--set", "database.engine=postgres")
    with pytest.raises(SystemExit, match="give one of them"):
        cli.run(args, _settings_for, environ={})


def test_a_run_whose_only_leg_is_skipped_starts_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_timescaledb(monkeypatch)

    def started(*_args: object, **_kwargs: object) -> dict[str, Any]:
        raise AssertionError("a skipped leg must not start a server")

    monkeypatch.setattr(cli, "run_scenario", started)
    out = tmp_path / "out.json"
    args = _args("throughput", "--engines", "timescaledb", "--json", str(out))
    assert cli.run(args, _settings_for, environ={}) == 0
    results = json.loads(out.read_text())
    assert results["engines"] == ["timescaledb"]
    leg = results["scenarios"]["throughput@timescaledb"]
    assert leg["engine_choice"] == "timescaledb" and NOT_INSTALLED in leg["skipped"]


def test_set_timescaledb_without_it_stops_before_starting(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_timescaledb(monkeypatch)
    args = _args("throughput", "--set", "database.engine=timescaledb")
    with pytest.raises(SystemExit, match=NOT_INSTALLED):
        cli.run(args, _settings_for, environ={})


# -- the report ----------------------------------------------------------------------------------
def test_report_shows_the_engines_side_by_side(tmp_path: Path) -> None:
    plain = "PostgreSQL 15.20 (native partitions and rollup tables)"
    results = {
        "machine": {
            "cores": 2,
            "memory_gib": 4.0,
            "cpu": "test",
            "kernel": "6",
            "python": "3.11",
            "postgresql_installed": "postgres (PostgreSQL) 15.20",
            "open_files_limit": 1024,
            "versions": {"envgrid": "0.1.0"},
        },
        "started_at": "2026-12-06T05:00:00+0000",
        "engines": ["postgres", "timescaledb"],
        "scenarios": {
            "throughput@postgres": {
                "scenario": "throughput",
                "engine_choice": "postgres",
                "engine": plain,
                "frames_committed_per_s": 12345,
                "values_committed_per_s": 74070,
                "latency_s": {"p50": 0.5, "p99": 1.5},
                "cpu": {"server_cores": 1.0, "postgres_cores": 0.8},
                "server_cpu_us_per_frame": 81.0,
                "postgres_cpu_us_per_frame": 64.8,
            },
            "throughput@timescaledb": {
                "scenario": "throughput",
                "engine_choice": "timescaledb",
                "skipped": "TimescaleDB is not installed for PostgreSQL 15.20 in /x",
            },
        },
    }
    text = write_report(results, tmp_path).read_text()
    assert f"| throughput@postgres | {plain} | 12,345 |" in text
    assert "| envgrid µs/frame | PostgreSQL µs/frame |" in text
    assert "| 1 | 0.8 | 81 | 64.8 | 0.5 s | 1.5 s |" in text
    assert "| throughput@timescaledb | timescaledb: skipped — TimescaleDB is not" in text
    assert f"### throughput@postgres — {plain}" in text


# -- the refresh cost, on the suite's engine ----------------------------------------------------------
async def test_refresh_cost_on_the_suites_engine(
    pg_server: PgServer, engine_info: EngineInfo
) -> None:
    out = await run_refresh_cost(
        pg_server.admin_dsn,
        _settings_for,
        stations=4,
        interval_s=600.0,
        backfill_stations=2,
        backfill_days=3,
        engine=TEST_DATABASE.engine,
        say=lambda _msg: None,
    )
    assert out["engine"].startswith(f"PostgreSQL {engine_info.server_version}")
    assert out["hour_rows"] == 4 * 6 * 5  # [now - 59 min, now - 10 min] every 10 minutes
    assert out["hour_marked"] == {"hours": 0, "days": 0}
    assert out["backfill_rows"] == 2 * 6 * 24 * 2  # [30 days ago, a day ago): 2 days, hourly
    marked = out["backfill_marked"]
    if engine_info.engine is Engine.TIMESCALEDB:
        assert marked == {"hours": 2 * 48, "days": 0}
        assert out["continuous_idle_s"] > 0
    else:
        assert marked["hours"] == 0 and marked["days"] >= 2 * 2
        assert "continuous_idle_s" not in out
    assert out["hour_daily_rows"] > 0 and out["backfill_daily_rows"] > 0


def test_progress_on_a_terminal_and_silence_on_a_pipe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_timescaledb(monkeypatch)
    for name in ("TTY_COMPATIBLE", "TTY_INTERACTIVE", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "160")
    args = _args("throughput", "--engines", "timescaledb")
    assert cli.run(args, _settings_for, environ={}) == 0
    piped = capsys.readouterr()
    assert piped.err == ""  # stderr is no terminal: no display, no notes
    assert json.loads(piped.out)["skipped"]  # the result line on stdout as before
    terminal = TerminalBuffer()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli.run(args, _settings_for, environ={}) == 0
    text = terminal.getvalue()
    assert "== throughput@timescaledb: skipped:" in text  # a note above the display
    assert "bench throughput" in text and "100%" in text
    assert json.loads(capsys.readouterr().out)["skipped"]  # stdout is still a pipe: untouched
    quiet = TerminalBuffer()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert cli.run(_args("throughput", "--engines", "timescaledb", "-q"), _settings_for, {}) == 0
    assert quiet.getvalue() == ""


@pytest.mark.parametrize(
    ("cores", "seconds", "frames", "us"),
    [
        (0.5, 60.0, 600_000, 50.0),  # half a core for a minute, 10,000 frames/s
        (1.03, 61.3, 1_060_000, 59.6),
        (0.0, 60.0, 100, 0.0),
        (0.5, 60.0, 0, None),  # nothing committed: no figure rather than a division by zero
    ],
)
def test_cpu_per_frame(cores: float, seconds: float, frames: int, us: float | None) -> None:
    assert cpu_per_frame(cores, seconds, frames) == us
