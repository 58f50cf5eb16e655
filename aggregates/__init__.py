"""Analytics: aggregates, AQI (HJ 633) and the composite index, rankings, reports, exports.

Theory of operation
-------------------
Storage (migrations 0010/0011, same relation names on both engines)::

    measurements_rtd / _minute ──▶ agg_hourly_rtd / _minute   hourly rollups (sums, counts,
                                   agg_daily_rtd / _minute    min/max, flag counters, minute
                                   (views agg_hourly, agg_daily)  bitmap) — computed data
    measurements_hour (2061) ─┐
    agg_hourly_* ─────────────┴──▶ hourly_values (view)       official hourly series:
                                                              reported preferred, computed
                                                              hours fill gaps (source column);
    audit_marks ──────────────────▶ (applied in the view)     officers' invalidations
                                                              (:mod:`aggregates.audit`)
    hourly_values + measurements_day (2031)
                               ──▶ daily_values (table)       HJ 663 daily means, O3 MDA8,
                               ──▶ monthly_values (table)     validity, flag counts
                               ──▶ yearly_values (table)      fixed-position yearly series
                                                              (rankings over any range)
    daily_values               ──▶ daily_rankings (table)     the scheduled ranking

* TimescaleDB: the rollups are continuous aggregates (hourly on the hypertables, daily on
  the hourly ones) with real-time aggregation switched on, refreshed by envgrid itself
  over the recent window and every range late data marked (:mod:`~aggregates.continuous`;
  TimescaleDB's own refresh jobs may run too, nothing depends on them).
* Plain PostgreSQL: statement-level triggers with transition tables fold every COPY/INSERT
  into the hourly rollup inside the ingest transaction; the daily rollups are views.
* ``daily_values``/``monthly_values``/``yearly_values`` need whole days (window functions
  for MDA8), so :func:`aggregates.jobs.run_refresh` derives them for a trailing window
  plus the days late data or corrections marked dirty.

Modules: :mod:`~aggregates.aqi`, :mod:`~aggregates.aqci`, :mod:`~aggregates.validity`,
:mod:`~aggregates.standards` (pure standards maths); :mod:`~aggregates.periods`,
:mod:`~aggregates.analysis`, :mod:`~aggregates.spatial` (pure helpers);
:mod:`~aggregates.queries` (all SQL); the read API by noun: :mod:`~aggregates.selection`
(which stations), :mod:`~aggregates.official` (official values), :mod:`~aggregates.aqi_series`
(AQI of stations and areas), :mod:`~aggregates.rankings`, :mod:`~aggregates.heatmap`;
:mod:`~aggregates.jobs` (scheduled jobs); reports: :mod:`~aggregates.report_model` (the
document), :mod:`~aggregates.reports` (``build_report``, hour and day reports),
:mod:`~aggregates.period_reports`, :mod:`~aggregates.report_cells` (shared cells and charts)
and :mod:`~aggregates.exports` (files); ``cli_aqi``/``cli_aqci``/``cli_report`` (commands).

The job entry points are re-exported lazily here (``aggregates.run_daily_ranking`` …):
``store.settings`` imports ``aggregates.settings`` while it loads, so this package must
not import the jobs eagerly.
"""

from __future__ import annotations

from typing import Any

__all__ = ["refresh_days", "run_daily_ranking", "run_refresh", "sync_timezone"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from aggregates import jobs

        return getattr(jobs, name)
    raise AttributeError(f"module 'aggregates' has no attribute {name!r}")
