"""Log lines for the life of a deployment: what starts with which configuration, what
changed in the configuration since the last start, and the stop.

The supervisor records the effective configuration (secrets masked, as ``envgrid config
show`` prints it) in ``core.data_dir/run/settings.json`` at every start and logs one line
per setting that differs from the previous start's record: ``configuration changed:
ingest.workers 2 -> 4``.  A masked secret (a password, a token) shows as ``***`` on both
sides, so only its being set or unset is seen; a DSN keeps its host and database.  The
first start logs that there is no previous record.  Migrations log themselves
(:mod:`store.migrate`), the child processes' starts and exits are logged by the
supervisor.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from store.config import settings_as_dict
from store.logcontext import CHANGE_EVENT

__all__ = ["SETTINGS_RECORD", "changes", "record_settings"]

log = logging.getLogger("envgrid.lifecycle")

#: The record of the last start's configuration, under ``core.data_dir``.
SETTINGS_RECORD = Path("run") / "settings.json"


def _flat(values: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {f"{s}.{k}": v for s, table in values.items() for k, v in table.items()}


def changes(
    previous: Mapping[str, Mapping[str, Any]], current: Mapping[str, Mapping[str, Any]]
) -> list[tuple[str, Any, Any]]:
    """``(section.key, before, after)`` for every setting that differs, in order; a key
    only on one side (a setting added or removed by an upgrade) has ``None`` on the other."""
    before, after = _flat(previous), _flat(current)
    keys = list(after) + [k for k in before if k not in after]
    return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


def _show(value: Any) -> str:
    return "unset" if value is None else json.dumps(value, ensure_ascii=False)


def record_settings(settings: Any, data_dir: Path) -> list[tuple[str, Any, Any]]:
    """Log the configuration changes since the last start and record this one; returns
    the changes.  A record that cannot be read counts as none; one that cannot be
    written is logged and skipped (the start goes on)."""
    current = json.loads(json.dumps(settings_as_dict(settings, redact=True)))
    path = data_dir / SETTINGS_RECORD
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        previous = None
    found: list[tuple[str, Any, Any]] = []
    if not isinstance(previous, dict):
        log.info("configuration recorded for the first time (%s)", path)
    else:
        found = changes(previous, current)
        for key, old, new in found:
            log.info(
                "configuration changed: %s %s -> %s",
                key,
                _show(old),
                _show(new),
                extra={
                    "event": CHANGE_EVENT,
                    "change": "setting",
                    "action": "changed since the last start",
                    "key": key,
                    "before": old,
                    "after": new,
                },
            )
        if not found:
            log.info("configuration unchanged since the last start")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(current, indent=1, ensure_ascii=False), encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        log.warning("cannot record the configuration in %s: %s", path, exc.strerror)
    return found
