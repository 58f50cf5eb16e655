"""JSON log lines written into a buffer, as a process configured with
``core.log_format = "json"`` writes them, for tests that read their fields."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from store.logcontext import CHANGES_LOG
from store.logs import configure_logging

__all__ = ["json_lines", "logging_into"]


@contextmanager
def logging_into(level: str = "INFO") -> Iterator[io.StringIO]:
    """The root logger writing JSON lines into a buffer; the previous set-up afterwards."""
    root = logging.getLogger()
    handlers, root_level, changes = list(root.handlers), root.level, CHANGES_LOG.level
    out = io.StringIO()
    configure_logging(level, "json", stream=out)
    try:
        yield out
    finally:
        root.handlers[:] = handlers
        root.setLevel(root_level)
        CHANGES_LOG.setLevel(changes)


def json_lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in out.getvalue().splitlines()]
