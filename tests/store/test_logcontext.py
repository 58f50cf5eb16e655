"""store.logcontext: fields bound to a piece of work, change lines, secrets masked."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from store.logcontext import (
    CHANGES_LOG,
    bind_log_fields,
    current_log_fields,
    log_change,
    log_fields,
    log_operation_line,
    sane_request_id,
    station_fields,
)
from store.logs import configure_cli_logging
from tests.logcapture import json_lines, logging_into


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    with logging_into() as out:
        yield out


def test_bound_fields_reach_every_line_and_tasks(json_log: io.StringIO) -> None:
    log = logging.getLogger("envgrid.test")

    async def job() -> None:
        log.info("in a task")

    async def request() -> None:
        with log_fields(request_id="r-1"):
            log.info("handling")
            bind_log_fields(user="alice")
            await asyncio.get_running_loop().create_task(job())
            log.info("explicit wins", extra={"request_id": "other"})
        log.info("after")

    asyncio.run(request())
    got = json_lines(json_log)
    assert [e["msg"] for e in got] == ["handling", "in a task", "explicit wins", "after"]
    assert got[0]["request_id"] == "r-1" and "user" not in got[0]
    assert got[1]["request_id"] == "r-1" and got[1]["user"] == "alice"
    assert got[2]["request_id"] == "other"
    assert "request_id" not in got[3] and "user" not in got[3]  # the block restored it all
    assert current_log_fields() == {}
    assert got[0]["proc"] == "MainProcess" and isinstance(got[0]["pid"], int)


def test_reserved_names_are_not_overwritten(json_log: io.StringIO) -> None:
    with log_fields(name="x", msg="y", mn="M1"):
        logging.getLogger("envgrid.test").info("ok")
    (entry,) = json_lines(json_log)
    assert entry["logger"] == "envgrid.test" and entry["msg"] == "ok" and entry["mn"] == "M1"


def test_secret_fields_are_masked_in_json(json_log: io.StringIO) -> None:
    log = logging.getLogger("envgrid.test")
    log.info("x", extra={"password": "hunter2", "api_token": "eg_abc", "sm4_key": "K" * 16})
    log.info("y", extra={"password": "", "mn": "M1"})
    first, second = json_lines(json_log)
    text = json_log.getvalue()
    assert "hunter2" not in text and "eg_abc" not in text and "K" * 16 not in text
    assert first["password"] == first["api_token"] == first["sm4_key"] == "***"
    assert second["password"] == "" and second["mn"] == "M1"  # unset stays visible as unset


def test_change_and_operation_lines(json_log: io.StringIO) -> None:
    with log_fields(user="cli:root", request_id="r-9"):
        log_change("station", "added", mn="M1", password="secret-pw", changed=["name"])
        log_operation_line("修改/停用站点", "PATCH", "/api/v1/stations/7", 200, {"mn": "M1"})
    log_change("user", "disabled", by="admin", username="bob")
    change, operation, other = json_lines(json_log)
    assert "secret-pw" not in json_log.getvalue()
    assert change["logger"] == "envgrid.changes" and change["event"] == "config_change"
    assert (change["change"], change["action"], change["by"]) == ("station", "added", "cli:root")
    assert change["mn"] == "M1" and change["password"] == "***"
    assert change["msg"] == (
        "configuration change: station added (mn=M1 password=*** changed=['name']) by cli:root"
    )
    assert operation["event"] == "operation" and operation["status"] == 200
    assert operation["user"] == "cli:root" and operation["request_id"] == "r-9"
    assert operation["mn"] == "M1" and operation["method"] == "PATCH"
    assert other["by"] == "admin" and other["username"] == "bob"


@pytest.mark.parametrize(
    ("value", "sane"),
    [
        ("3f2a9c", True),
        ("0b1e9a4c-7c1f-4c55-9d1e-1f0e6f2b8a11", True),
        ("trace-1.2:3@edge/x+y=", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("", False),
        ("-leading-dash", False),
        ("has space", False),
        ("new\nline", False),
        ("<script>", False),
        ("请求", False),
        (None, False),
    ],
)
def test_request_id_sanity(value: str | None, sane: bool) -> None:
    assert (sane_request_id(value) is not None) is sane


@pytest.mark.parametrize(
    ("mn", "peer", "fields"),
    [
        ("M1", None, {"mn": "M1"}),
        ({"B", "A"}, "10.0.0.1:5", {"mn": "A,B", "peer": "10.0.0.1:5"}),
        (set(), "10.0.0.1:5", {"peer": "10.0.0.1:5"}),
        (None, None, {}),
        ("", "", {}),
    ],
)
def test_station_fields(mn: Any, peer: str | None, fields: dict[str, str]) -> None:
    assert station_fields(mn, peer) == fields


def test_cli_logging_is_quiet_but_logs_changes() -> None:
    root = logging.getLogger()
    handlers, level, changes = list(root.handlers), root.level, CHANGES_LOG.level
    out = io.StringIO()
    try:
        root.handlers[:] = []
        assert configure_cli_logging("INFO", "json", stream=out)
        assert not configure_cli_logging("INFO", "json", stream=out)  # configured already
        logging.getLogger("envgrid.test").info("not shown")
        logging.getLogger("envgrid.test").warning("shown")
        log_change("station", "removed", by="cli:x", mn="M2")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        CHANGES_LOG.setLevel(changes)
    assert [e["msg"] for e in json_lines(out)] == [
        "shown",
        "configuration change: station removed (mn=M2) by cli:x",
    ]
