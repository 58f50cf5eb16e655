"""Logging: text and JSON lines, and no duplicate handlers."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import orjson
import pytest

from store.logs import configure_logging


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines(restore_root_logger: None) -> None:
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    log = logging.getLogger("envgrid.test")
    log.debug("hidden")
    log.info("station %s connected", "A-001", extra={"peer": "10.0.0.7:5123"})
    try:
        raise ValueError("bad frame")
    except ValueError:
        log.exception("decode failed")
    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert [e["msg"] for e in lines] == ["station A-001 connected", "decode failed"]
    assert lines[0]["level"] == "INFO" and lines[0]["logger"] == "envgrid.test"
    assert lines[0]["peer"] == "10.0.0.7:5123"
    assert lines[0]["ts"].endswith("+00:00")
    assert "ValueError: bad frame" in lines[1]["exc"]


def test_text_and_reconfigure(restore_root_logger: None) -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("INFO", "text", stream=first)
    configure_logging("WARNING", "text", stream=second)  # replaces, does not add
    logging.getLogger("envgrid.test").warning("disk %d%% full", 91)
    assert first.getvalue() == ""
    line = second.getvalue().strip()
    assert line.endswith(" WARNING envgrid.test disk 91% full")
    with pytest.raises(ValueError, match="'text' or 'json'"):
        configure_logging("INFO", "xml")
