"""Pure parts: the map's current-AQI rule against aggregates.aqi, settings, CLI, banner."""

from __future__ import annotations

import argparse
import contextlib
import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import cast

import asyncpg
import pytest

from aggregates.aqi import hourly_aqi
from aggregates.standards import default_registry
from envgrid.settings import load_settings
from store.validation import ConfigError
from web.auth import queries as auth_queries
from web.auth.jobs import scheduled_jobs
from web.errors import ErrorTable, answer, translate
from web.live.hub import LiveHub
from web.map.aqi import AIR_FACTORS, current_aqi, evaluator
from web.process import describe_endpoint
from web.responses import ApiError
from web.settings import WebSettings

DAY = date(2025, 6, 1)


def test_current_aqi_equals_hourly_aqi_exactly() -> None:
    rng = random.Random(7)
    table = default_registry().aqi_table(DAY)
    ev = evaluator(DAY)
    for _ in range(3000):
        values = {}
        for indicator in AIR_FACTORS.values():
            if rng.random() < 0.85:
                top = 12.0 if indicator.startswith("CO") else 900.0
                v = round(rng.uniform(0, top), rng.choice([0, 1, 2, 3]))
                if rng.random() < 0.05:
                    v = rng.choice([2.15, 2.25, 0.05, 12.5, 34.5])  # ties
                values[indicator] = v
        mine = ev.of_values(values)
        ref = hourly_aqi(values, table)
        assert (mine.aqi, mine.color, mine.primary) == (ref.aqi, ref.color, ref.primary), values


def test_current_aqi_rules() -> None:
    def latest(values: dict[str, object]) -> object:
        return current_aqi(None, values, DAY)

    assert latest({}).aqi is None and latest({}).color == "#999999"
    assert latest({"a34004": {"v": 500.0, "f": "M"}}).aqi is None  # maintenance
    assert latest({"a34004": {"v": 35.0, "f": "N"}}).aqi == 50
    assert latest({"a34004": {"v": 35.0}}).aqi == 50  # no flag = N
    assert latest({"a34004": {"v": -1.0, "f": "N"}}).aqi is None
    r = latest({"a34004": {"v": 80.0, "f": "N"}, "a21004": {"v": 30.0, "f": "N"}})
    assert (r.aqi, r.level, r.category, r.primary, r.basis) == (
        107,
        3,
        "轻度污染",
        ("PM2.5",),
        "latest",
    )  # 106.25 → ceil


def test_current_aqi_prefers_the_last_complete_hour() -> None:
    now = {"a34004": {"v": 160.0, "f": "N"}}
    hour = {"a34004": 35.0, "a21004": 30.0}
    # the hour's valid values win over the real-time values, fresh or not
    r = current_aqi(hour, now, DAY, fresh=True)
    assert (r.aqi, r.basis) == (50, "hour")
    assert current_aqi(hour, now, DAY, fresh=False).aqi == 50
    # no hourly values (or none that gives an IAQI): the fresh real-time values
    assert (current_aqi({}, now, DAY).aqi, current_aqi({}, now, DAY).basis) == (210, "latest")
    assert current_aqi({"a34004": -5.0}, now, DAY).aqi == 210
    # stale real-time values and no hour: no AQI (grey)
    gone = current_aqi(None, now, DAY, fresh=False)
    assert gone.aqi is None and gone.basis is None and gone.color == "#999999"
    # the aggregates' unit factors apply to both inputs (mg/m³ stations → µg/m³)
    scaled = current_aqi({"a34004": 0.035}, None, DAY, unit_factors={"a34004": 1000.0})
    assert scaled.aqi == 50


def test_settings_validation() -> None:
    s = load_settings(
        None, {}, {"web.tile_url": "https://t.example/{z}/{x}/{y}.png"}, discover=False
    )
    assert s.web.tile_url
    for bad in (
        {"web.tile_url": "https://t.example/tiles.png"},
        {"web.lockout_count": 0},
        {"web.password_min_length": 3},
        {"web.cookie_secure": "sometimes"},
        {"web.session_idle_s": 10},
        {"web.require_2fa_for": ["admn"]},  # a misspelt role would silently require nothing
    ):
        with pytest.raises(ConfigError):
            load_settings(None, {}, bad, discover=False)
    assert not WebSettings().secure_cookie(False)
    assert WebSettings().secure_cookie(True)
    assert WebSettings(public_url="https://env.example.cn").secure_cookie(False)
    assert WebSettings(cookie_secure="always").secure_cookie(False)
    assert WebSettings(host="0.0.0.0").plain_http_exposed


def test_banner_line() -> None:
    s = load_settings(None, {}, {"web.port": 8123}, discover=False)
    line = describe_endpoint(s)
    assert line.startswith("http://127.0.0.1:8123/") and "envgrid user add" in line


def test_no_string_built_sql_in_web() -> None:
    root = Path(__file__).resolve().parents[2] / "web"
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for marker in ('f"""\nSELECT', 'f"SELECT', 'f"INSERT', 'f"UPDATE', 'f"DELETE', ".format("):
            if marker == ".format(" and "SQL" not in text:
                continue
            assert marker not in text, f"{path}: {marker}"


async def test_cli_user_add_list_disable(
    db_dsn: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio

    caplog.set_level("INFO", logger="envgrid.changes")

    from envgrid.settings import load_settings
    from web import cli_user

    def run(*argv: str) -> int:
        parser = argparse.ArgumentParser()
        parser.add_argument("--config")
        cli_user.configure(parser)
        args = parser.parse_args(["--dsn", db_dsn, *argv])
        return cli_user.run(args, lambda o: load_settings(None, {}, o, discover=False))

    assert (
        await asyncio.to_thread(run, "add", "boss", "--role", "admin", "--password", "Admin1234")
        == 0
    )
    assert "log in at http://127.0.0.1:8080/login" in capsys.readouterr().out
    assert (
        await asyncio.to_thread(run, "add", "boss", "--role", "admin", "--password", "Admin1234")
        == 2
    )
    assert await asyncio.to_thread(run, "add", "weak", "--role", "viewer", "--password", "abc") == 2
    assert (
        await asyncio.to_thread(
            run, "add", "x1", "--role", "viewer", "--password", "Abc12345", "--scope", "NOPE"
        )
        == 2
    )
    assert await asyncio.to_thread(run, "disable", "boss") == 0
    assert await asyncio.to_thread(run, "list") == 0
    out = capsys.readouterr().out
    assert '"username": "boss"' in out and '"enabled": false' in out
    # a log line for each change made (the refused ones none); the password never
    changes = [r.getMessage() for r in caplog.records if r.name == "envgrid.changes"]
    assert changes == [
        "configuration change: user added (username=boss role=admin)",
        "configuration change: user disabled (username=boss)",
    ]
    assert "Admin1234" not in caplog.text


async def test_session_purge_is_a_job_for_the_one_scheduler() -> None:
    """The web app starts no scheduler: the hourly purge (sessions, and audit rows past
    web.audit_retention_days) is offered as a store.jobs.Job."""
    executed: list[tuple[str, tuple[object, ...]]] = []

    class Conn:
        async def execute(self, sql: str, *args: object) -> None:
            executed.append((sql, args))

        async def fetchrow(self, sql: str, *args: object) -> dict[str, int]:
            executed.append((sql, args))
            return {"login_rows": 0, "operation_rows": 0}

    class Pool:
        @contextlib.asynccontextmanager
        async def acquire(self) -> AsyncIterator[Conn]:
            yield Conn()

    [job] = scheduled_jobs(cast(asyncpg.Pool, Pool()), 365)
    assert (job.name, job.every_s, job.at, job.run_at_start) == (
        "web-purge",
        3600,
        None,
        False,
    )
    await job.run(datetime.now(UTC))
    assert executed == [
        (auth_queries.PURGE_SESSIONS_SQL, ()),
        (auth_queries.PURGE_AUDIT_SQL, (365,)),
    ]


async def test_live_hub_fans_out_by_scope_without_a_database() -> None:
    hub = LiveHub()
    async with (
        hub.subscribe(None, alerts=True) as everyone,
        hub.subscribe(frozenset({1}), alerts=False) as one,
        hub.subscribe(frozenset({2}), alerts=True, regions=frozenset({"东区"})) as east,
    ):
        hub.publish_readings(
            [(1, "a34004", "rtd", 1.0, 5.0, "N"), (2, "a34004", "rtd", 1.0, 6.0, "N")]
        )
        assert everyone.queue.qsize() == one.queue.qsize() == east.queue.qsize() == 1
        assert b'[[1,"a34004"' in one.queue.get_nowait()
        row = {"station_id": None, "region": "东区", "grid_id": None, "rule": "r", "severity": "s"}
        hub.publish_alert("7", "firing", row)
        assert (everyone.queue.qsize(), one.queue.qsize(), east.queue.qsize()) == (2, 0, 2)
        for _ in range(300):  # a client too slow to keep up is ended
            hub.resync()
        assert one.dropped and one.queue.qsize() == 256
        hub.close()
        assert everyone.queue.qsize() == 256
    assert not hub.subscribers


def test_error_tables_translate_the_most_specific_class() -> None:
    class Refused(ValueError):
        pass

    class Gone(Refused):
        pass

    table: ErrorTable = {
        Refused: answer(400, "refused"),
        Gone: lambda exc: ApiError(404, "gone", "没了"),
    }
    assert translate(Gone("x"), table).code == "gone"  # type: ignore[union-attr]
    refused = translate(Refused("不行"), table)
    assert refused is not None and (refused.status, refused.message) == (400, "不行")
    assert translate(KeyError("k"), table) is None  # unknown: a logged 500
    error = ApiError(429, "too_many_requests", "慢点", headers={"Retry-After": "3"})
    assert translate(error, {}) is error
    assert error.response().headers["Retry-After"] == "3"
