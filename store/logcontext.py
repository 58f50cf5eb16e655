"""Fields every log line of a piece of work carries, and the log line of a change.

Theory of operation
-------------------
A request, a job or a connection binds its identifying fields once —
``with log_fields(request_id=rid):`` — in a :class:`contextvars.ContextVar`; asyncio
copies the context into every task created inside, so the work a request triggers (a
report job, a notification) logs the same ``request_id``.  :class:`ContextFieldsFilter`,
installed on the handler by :func:`store.logs.configure_logging`, copies the bound fields
onto each record that does not set them itself (``extra=`` wins), and the JSON formatter
writes them as fields.  The field names are the same in every process: ``request_id``,
``mn`` (a station's MN), ``user``, ``event``.

:func:`log_change` is the one line a configuration change made on the command line writes
(a station added, changed or removed, a user changed …): ``event = "config_change"``,
``change``, ``action``, ``by`` and the change's own fields, values of secret-looking
names (password, token, secret, SM4 key) masked.  On the dashboard every change is an API
call the operation log records; :func:`log_operation_line` writes its line
(``event = "operation"``).  Both go to the ``envgrid.changes`` logger.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any, Final

__all__ = [
    "CHANGES_LOG",
    "CHANGE_EVENT",
    "MASK",
    "OPERATION_EVENT",
    "REQUEST_ID_HEADER",
    "RESERVED",
    "SECRET_FIELD",
    "ContextFieldsFilter",
    "bind_log_fields",
    "current_log_fields",
    "log_change",
    "log_fields",
    "log_operation_line",
    "masked_fields",
    "new_request_id",
    "sane_request_id",
    "station_fields",
]

#: The HTTP header a request id comes in (from a proxy or a client) and goes back in.
REQUEST_ID_HEADER: Final = "X-Request-Id"
#: What an incoming request id may look like: up to 128 visible ASCII characters from a
#: safe set (uuids, ULIDs, nginx's $request_id, "trace-1.2:3") — anything else is replaced.
_SANE_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}")
CHANGE_EVENT: Final = "config_change"
OPERATION_EVENT: Final = "operation"
MASK: Final = "***"
#: Field names whose values are never logged as they are.
SECRET_FIELD: Final = re.compile(
    r"pass(word)?|^(new_?)?pw$|secret|token|sm4_key|api_key|private_key", re.IGNORECASE
)
#: Attributes every LogRecord has: a field of that name would overwrite it.
RESERVED: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)

#: The logger of :func:`log_change` (a CLI keeps it at INFO even when it is quiet otherwise).
CHANGES_LOG: Final = logging.getLogger("envgrid.changes")

_FIELDS: ContextVar[Mapping[str, Any]] = ContextVar(
    "envgrid_log_fields", default=MappingProxyType({})
)


def current_log_fields() -> dict[str, Any]:
    """The fields bound in this context."""
    return dict(_FIELDS.get())


@contextmanager
def log_fields(**fields: Any) -> Iterator[None]:
    """Bind ``fields`` to every log line written in this context (and the tasks it
    creates) until the block ends; inner bindings add to and override outer ones."""
    token = _FIELDS.set({**_FIELDS.get(), **fields})
    try:
        yield
    finally:
        _FIELDS.reset(token)


def bind_log_fields(**fields: Any) -> None:
    """Add ``fields`` for the rest of the enclosing :func:`log_fields` block (which
    restores what was bound before it when it ends) — e.g. the user once a request's
    authentication, in a middleware inside the one that opened the block, knows it."""
    _FIELDS.set({**_FIELDS.get(), **fields})


class ContextFieldsFilter(logging.Filter):
    """Copies the bound fields onto a record (a field the record has already stays)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _FIELDS.get().items():
            if key not in record.__dict__ and key not in RESERVED:
                setattr(record, key, value)
        return True


def sane_request_id(value: str | None) -> str | None:
    """``value`` if it may be used as a request id as it is, else None."""
    if value is None:
        return None
    value = value.strip()
    return value if _SANE_REQUEST_ID.fullmatch(value) else None


def new_request_id() -> str:
    """A fresh request id (32 hex digits)."""
    return uuid.uuid4().hex


def masked_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with the values of secret-looking names masked (an unset one stays) and
    names a LogRecord reserves suffixed with ``_``."""
    return {
        (f"{k}_" if k in RESERVED else k): (
            MASK if v not in (None, "") and SECRET_FIELD.search(k) else v
        )
        for k, v in fields.items()
    }


def log_change(change: str, action: str, *, by: str | None = None, **fields: Any) -> None:
    """One INFO line on the ``envgrid.changes`` logger for a configuration change:
    ``change`` (what kind of thing: station, user, setting …), ``action`` (added, changed,
    removed …), ``by`` (who; default: the ``user`` bound to the context — the dashboard
    user, ``cli:<login>``) and the change's fields (``mn=…``, ``changed=[…]``), secret
    values masked.  Call it once the change is committed."""
    who = current_log_fields().get("user", "") if by is None else by
    shown = masked_fields(fields)
    detail = " ".join(f"{k}={v}" for k, v in shown.items() if v not in (None, "", [], ()))
    CHANGES_LOG.info(
        "configuration change: %s %s%s%s",
        change,
        action,
        f" ({detail})" if detail else "",
        f" by {who}" if who else "",
        extra={"event": CHANGE_EVENT, "change": change, "action": action, "by": who, **shown},
    )


def log_operation_line(
    action: str, method: str, path: str, status: int, detail: Mapping[str, Any]
) -> None:
    """The log line of a dashboard operation — an API call that changes something, as the
    operation log records it: ``event = "operation"``, ``action``, ``method``, ``path``,
    ``status`` and the operation's detail (``mn``, ``changed`` …, secrets masked); the
    user and the request id come from the context."""
    shown = masked_fields(detail)
    CHANGES_LOG.info(
        "operation: %s (%s %s) -> %d",
        action,
        method,
        path,
        status,
        extra={
            **shown,
            "event": OPERATION_EVENT,
            "action": action,
            "method": method,
            "path": path,
            "status": status,
        },
    )


def station_fields(
    mn: str | Iterable[str] | None = None, peer: str | None = None
) -> dict[str, str]:
    """The fields of a log line about a station, the same in every process: ``mn`` (several
    joined by ``,``; left out when unknown) and ``peer`` (its address)."""
    out: dict[str, str] = {}
    mns = mn if isinstance(mn, str) else ",".join(sorted(mn)) if mn is not None else ""
    if mns:
        out["mn"] = mns
    if peer:
        out["peer"] = peer
    return out
