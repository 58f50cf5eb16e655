"""TimescaleDB's background jobs, kept in step with the settings.

The TimescaleDB engine leaves two things to TimescaleDB's own scheduler: compressing raw
chunks after ``database.compress_after_days`` and re-materialising the continuous
aggregates over the last ``database.rollup_refresh_days``.  Neither is needed for
correctness — real-time aggregation answers for what is not materialised yet, and
envgrid's own refresher (``aggregates.jobs``) recomputes every range that late data or a
correction touched, whatever its age — so a job that fails costs disk or speed, not data.

:func:`ensure_policies` is idempotent: it looks each job up by procedure and relation,
leaves it alone when its configuration already matches, alters it (same job id) when a
setting changed, adds it when it is missing and deletes duplicates that older versions
left.  Retention is not a job: envgrid drops chunks itself (``store.partitions``), so that
raw data is never dropped while a refresh could still need it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import asyncpg

__all__ = ["Policy", "ensure_policies", "list_jobs", "policies_for"]

log = logging.getLogger(__name__)

COMPRESSION: Final = "policy_compression"
REFRESH: Final = "policy_refresh_continuous_aggregate"
RETENTION: Final = "policy_retention"

#: Raw hypertables compressed after an age (segment-by station and factor: 0002).
COMPRESSED: Final = ("measurements_rtd", "measurements_minute", "packet_ledger")
#: Continuous aggregates: (name, end offset, schedule); the start offset is the setting.
AGGREGATES: Final = (
    ("agg_hourly_rtd", timedelta(hours=1), timedelta(minutes=5)),
    ("agg_hourly_minute", timedelta(hours=1), timedelta(minutes=5)),
    ("agg_daily_rtd", timedelta(days=1), timedelta(minutes=30)),
    ("agg_daily_minute", timedelta(days=1), timedelta(minutes=30)),
)

FIND_JOBS_SQL: Final = """
SELECT job_id, config @> (SELECT jsonb_object_agg(k, v)
                            FROM unnest($3::text[], $4::interval[]) AS t(k, v)) AS same
FROM timescaledb_information.jobs
WHERE proc_name = $1 AND hypertable_name = $2
ORDER BY job_id
"""
ALTER_JOB_SQL: Final = """
SELECT alter_job(j.job_id,
                 config => j.config || (SELECT jsonb_object_agg(k, v)
                                          FROM unnest($2::text[], $3::interval[]) AS t(k, v)))
FROM timescaledb_information.jobs j
WHERE j.job_id = $1
"""
DELETE_JOB_SQL: Final = "SELECT delete_job($1)"
ADD_COMPRESSION_SQL: Final = (
    "SELECT add_compression_policy($1::regclass, compress_after => $2::interval)"
)
ADD_REFRESH_SQL: Final = """
SELECT add_continuous_aggregate_policy($1::regclass, start_offset => $2::interval,
                                       end_offset => $3::interval,
                                       schedule_interval => $4::interval)
"""
LIST_JOBS_SQL: Final = """
SELECT job_id, proc_name, hypertable_name, schedule_interval, config::text AS config
FROM timescaledb_information.jobs
WHERE proc_name IN ('policy_compression', 'policy_refresh_continuous_aggregate',
                    'policy_retention')
ORDER BY job_id
"""


@dataclass(frozen=True, slots=True)
class Policy:
    """One job envgrid wants: ``proc`` on ``relation`` with the ``config`` keys it owns."""

    proc: str
    relation: str
    config: tuple[tuple[str, timedelta], ...]
    schedule: timedelta | None = None


def policies_for(compress_after_days: int, refresh_days: int) -> list[Policy]:
    """The jobs for the settings: compression of the raw hypertables and the refresh
    policies of the continuous aggregates."""
    wanted = [
        Policy(COMPRESSION, table, (("compress_after", timedelta(days=compress_after_days)),))
        for table in COMPRESSED
    ]
    wanted += [
        Policy(
            REFRESH,
            name,
            (("start_offset", timedelta(days=refresh_days)), ("end_offset", end)),
            schedule,
        )
        for name, end, schedule in AGGREGATES
    ]
    return wanted


def _interval(value: timedelta) -> str:
    """``7 days``, ``1 hour``, as PostgreSQL would write the interval."""
    if value.seconds == 0 and value.days:
        return f"{value.days} day{'s' if value.days != 1 else ''}"
    hours = value.days * 24 + value.seconds // 3600
    if value.seconds % 3600 == 0:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return str(value)


async def _add(conn: asyncpg.Connection, policy: Policy) -> int:
    values = dict(policy.config)
    if policy.proc == COMPRESSION:
        return int(
            await conn.fetchval(ADD_COMPRESSION_SQL, policy.relation, values["compress_after"])
        )
    return int(
        await conn.fetchval(
            ADD_REFRESH_SQL,
            policy.relation,
            values["start_offset"],
            values["end_offset"],
            policy.schedule,
        )
    )


async def ensure_policies(conn: asyncpg.Connection, wanted: Sequence[Policy]) -> list[str]:
    """Make TimescaleDB's jobs match ``wanted`` (module docstring); returns what changed,
    one line each (empty when nothing did).  Also removes retention jobs: retention is
    envgrid's own (``store.partitions.apply_retention``)."""
    changes: list[str] = []
    for row in await conn.fetch(LIST_JOBS_SQL):
        if row["proc_name"] == RETENTION:
            await conn.execute(DELETE_JOB_SQL, row["job_id"])
            changes.append(f"deleted retention job {row['job_id']} on {row['hypertable_name']}")
    for policy in wanted:
        keys = [k for k, _ in policy.config]
        values = [v for _, v in policy.config]
        jobs = await conn.fetch(FIND_JOBS_SQL, policy.proc, policy.relation, keys, values)
        for extra in jobs[1:]:
            await conn.execute(DELETE_JOB_SQL, extra["job_id"])
            changes.append(f"deleted duplicate job {extra['job_id']} on {policy.relation}")
        if not jobs:
            job_id = await _add(conn, policy)
            changes.append(f"added {policy.proc} job {job_id} on {policy.relation}")
        elif not jobs[0]["same"]:
            await conn.execute(ALTER_JOB_SQL, jobs[0]["job_id"], keys, values)
            settings = ", ".join(f"{k} = {_interval(v)}" for k, v in policy.config)
            changes.append(
                f"altered {policy.proc} job {jobs[0]['job_id']} on {policy.relation}: {settings}"
            )
    for line in changes:
        log.info("timescaledb jobs: %s", line)
    return changes


async def list_jobs(conn: asyncpg.Connection) -> list[tuple[int, str, str, str]]:
    """(job id, procedure, relation, config) of envgrid's TimescaleDB jobs, by id."""
    return [
        (r["job_id"], r["proc_name"], r["hypertable_name"], r["config"])
        for r in await conn.fetch(LIST_JOBS_SQL)
    ]
