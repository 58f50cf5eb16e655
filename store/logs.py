"""Logging set-up for the entry point: plain text or one JSON object per line on stderr.

JSON lines carry the fields bound to the work that logs them (``request_id``, ``mn`` …,
:mod:`store.logcontext`) and those given with ``extra=``; a field with a secret-looking
name (password, token, secret …) is written masked."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, Final, TextIO

import orjson

from store.logcontext import CHANGES_LOG, MASK, SECRET_FIELD, ContextFieldsFilter

__all__ = ["JsonFormatter", "configure_cli_logging", "configure_logging"]

TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s %(message)s"
_HANDLER_NAME: Final = "envgrid"
# Attributes every LogRecord has; anything else came in through ``extra=`` and is emitted.
_RECORD_ATTRS: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


class JsonFormatter(logging.Formatter):
    """``{"ts": ..., "level": ..., "logger": ..., "msg": ..., <fields>, "exc": ...}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "proc": record.processName,
            "pid": record.process,
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and not key.startswith("_"):
                secret = value not in (None, "") and SECRET_FIELD.search(key)
                entry[key] = MASK if secret else value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is logged (as the standard
    library's ``logging.lastResort`` does): a command run in-process by a test, or whose
    stderr was redirected after logging was set up, never writes to a closed stream."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        del value


def configure_logging(level: str, fmt: str, *, stream: TextIO | None = None) -> None:
    """Send log records at ``level`` and above to ``stream`` (stderr) as ``fmt`` text|json.

    Calling it again replaces the handler it installed before (no duplicate lines).
    """
    if fmt not in ("text", "json"):
        raise ValueError(f"log format must be 'text' or 'json' (got {fmt!r})")
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    )
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(ContextFieldsFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


def configure_cli_logging(level: str, fmt: str, *, stream: TextIO | None = None) -> bool:
    """The logging of a one-off command (``envgrid station``, ``user`` …): ``fmt`` lines on
    stderr for warnings and above (``level`` if it is higher) and for the configuration
    changes it makes (``envgrid.changes`` at INFO).  Nothing is changed when logging has
    handlers already (a test harness, a command that configured its own); returns whether
    it configured."""
    if logging.getLogger().handlers:
        return False
    quiet = max(logging.WARNING, logging.getLevelName(level.upper()))
    configure_logging(logging.getLevelName(quiet), fmt, stream=stream)
    CHANGES_LOG.setLevel(logging.INFO)
    return True
