"""Data audit (数据审核): officers invalidate or restore official hourly values; the raw
data is never changed.

Theory of operation
-------------------
::

    measurements_* ─▶ rollups ─▶ hourly_values_raw (view: 0011's official hours)
                                        │   LEFT JOIN audit_marks (station, factor, hour)
                                        ▼
                                  hourly_values (view): valid = raw_valid AND NOT audited;
                                        │   the value stays (raw and audited side by side)
                                        ▼
                     daily_values / monthly_values / yearly_values, AQI, rankings,
                     reports, API, exports (they all read hourly_values)

* :mod:`~aggregates.audit.actions` — one action = one transaction: the log row (who,
  when, what, why, before/after of every hour it changes) in the append-only
  ``envgrid_audit.data_audit_log``, the marks, and the local days of the range in
  ``agg_dirty_days``; the refresh job recomputes those days within one
  ``aggregates.refresh_interval_min`` on both engines (the audit lives in the view the
  refresh reads, so the TimescaleDB continuous aggregates stay raw and need no refresh).
  A station-reported daily value (2031) of a day with an audited hour is not used: the
  day is computed from its audited hours.
* :mod:`~aggregates.audit.proposals` — the pre-audit rules; findings wait for an
  officer's bulk confirmation.
* :mod:`~aggregates.audit.model` — the request, the actor (dashboard user or OS user)
  and the log entry; :mod:`~aggregates.audit.cli` — ``envgrid audit``;
  :mod:`~aggregates.audit.report_table` — the log as a report table.

For other modules (forwarding corrections upstream): :func:`changes_since` returns the
log rows after an id, oldest first; the ids only grow and rows never change.
"""

from __future__ import annotations

from .actions import StationNotFound, apply, changes_since, invalidate, log_entries, restore
from .model import Actor, AuditError, AuditRequest, LogEntry, hour_range, parse_instant

__all__ = [
    "Actor",
    "AuditError",
    "AuditRequest",
    "LogEntry",
    "StationNotFound",
    "apply",
    "changes_since",
    "hour_range",
    "invalidate",
    "log_entries",
    "parse_instant",
    "restore",
]
