"""Alerts become cases: the bridge from the alert engine to the case workflow.

Theory of operation
-------------------
The alert engine commits an alert state change and sends ``NOTIFY envgrid_alerts`` with
``"<alert_id>:<state>"`` (pending | firing | acknowledged | resolved).  The alerts package
must not import web, so the bridge lives here: :func:`run_alert_listener` LISTENs and calls
:func:`on_alert_event` for each notification, one at a time.

Per alert kind and rule, ``case_alert_rules`` says whether a firing alert opens a case, its
category and, for offline alerts, after how many hours offline (``rule = '*'`` is the
default of a kind; an exact rule wins):

* **firing** — if configured, the alert joins its station's *incident* case of its kind
  (exceedance — ``aqi_level`` included —, offline, flatline, jump), or opens one (source
  ``alert``, accepted and filed by the system and, with ``auto_dispatch`` on, dispatched
  to the grid's responsible unit).  An alert joins the open case of (station, kind) while
  one of the case's alerts is still active, or until ``cases.incident_window_minutes``
  (default 120) after they all cleared; so several factors over their limits at one
  station, and any re-trigger while the incident lasts, make one case.  Joining raises
  the case's priority to the alert's, names the factor in the title and leaves a note.
  An offline alert younger than ``offline_hours`` waits; :func:`alert_case_sweep`
  (scheduler job) picks it up later, and also replays any firing or resolved alert whose
  notification was missed (listener down).
* **resolved** — a note on the alert's case; when it was the case's last active alert
  the case records 已恢复 (``recovered_at``, a ``recovered`` trail entry).  An officer then
  closes it in one step (恢复结案, with a reason); with
  ``cases.auto_close_recovered_minutes`` set, a case that recovered within that many
  minutes of being opened and that no person acted on closes by itself as 自动恢复
  (``close_kind``; counted apart in the assessment).
* **escalated** — the alert engine raises an open alert's severity (by ratio or duration,
  :mod:`alerts.severity`), records an ``escalated`` event and notifies
  ``"<id>:firing"`` (or ``:acknowledged``) again with the state unchanged.  For an alert
  already linked to an open case the bridge re-reads the severity: when it asks for a
  higher priority than the case has, the case's priority rises to it (紧急 at 严重, by the
  rules below) with a note.  The sweep catches escalations whose notification was missed.
* pending, and acknowledged alerts not linked to a case — nothing.

Priority (:mod:`web.casework.cases.incident`): the alert's ``severity`` — critical/严重
→ 严重 (3), major/较重 → 较重 (2), warning/info/一般 → 一般 (1); the case keeps the highest
of its alerts and is urgent (紧急) only at 严重 unless ``case_alert_rules.urgent`` is set.

Each (alert, state) opens or joins at most once (``case_alert_links`` primary key) and an
escalation only ever raises the priority, so duplicate notifications and the sweep never
double anything; a concurrent second opener hits the partial unique index
``cases_open_alert_idx`` (one *unrecovered* open case per station and kind, migration
0060) and joins instead.

The alert row is read as JSON (``to_jsonb``), by column name, so the bridge keeps working
while the alerts schema grows.  It uses (store/migrations/0020_alerts.sql): ``rule``
(exceedance, aqi_level, offline, flatline, jump; maintenance and offline_mass never open
cases), ``station_id``, ``factor_id`` (0 = none), ``grid_id``, ``severity``, ``value``,
``threshold``, ``first_seen``, ``resolved_at``.  ``case_alert_rules`` is looked up by the
rule plus the factor code (``exceedance:a34004``), the bare rule, or '*'; the case's
``alert_rule`` is the kind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Final

import asyncpg
from aiohttp import web

from web.casework.cases import queries as q
from web.casework.cases.incident import (
    KIND_LABELS,
    PRIORITY_LABELS,
    auto_closes,
    incident_title,
    joins,
    priority_of,
)
from web.casework.cases.intake import NewCase, create_case
from web.casework.cases.record import append_event
from web.casework.cases.service import add_note, transition
from web.casework.cases.workflow import Action, State
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.errors import WorkflowError
from web.casework.kernel.people import Actor
from web.keys import POOL_KEY, SETTINGS_KEY

__all__ = [
    "ALERTS_CHANNEL",
    "BridgeOutcome",
    "alert_case_sweep",
    "alert_kind",
    "alert_listener_context",
    "alert_rule_key",
    "on_alert_event",
    "parse_payload",
    "run_alert_listener",
    "set_alert_rule",
]

log = logging.getLogger(__name__)

ALERTS_CHANNEL: Final = "envgrid_alerts"
#: alert rule → case_alert_rules.kind (rules not listed never open cases)
_KINDS: Final = {
    "exceedance": "exceedance",
    "aqi_level": "exceedance",
    "offline": "offline",
    "disconnect": "offline",
    "flatline": "flatline",
    "jump": "jump",
}
_SYSTEM: Final = Actor.system("告警转案件")
_STATES: Final = ("pending", "firing", "acknowledged", "resolved")


@dataclass(frozen=True, slots=True)
class BridgeOutcome:
    #: opened | attached | noted | skipped | waiting | duplicate | ignored | missing
    outcome: str
    case_id: int | None = None
    reason: str = ""


def parse_payload(payload: str) -> tuple[int, str] | None:
    """``"123:firing"`` → (123, "firing"); None if malformed."""
    alert, sep, state = payload.partition(":")
    if (
        not sep
        or not (alert.strip().isascii() and alert.strip().isdigit())
        or state.strip() not in _STATES
    ):
        return None
    return int(alert), state.strip()


def alert_kind(alert: Mapping[str, Any]) -> str | None:
    """exceedance / offline / flatline / jump, or None (the rule never opens cases)."""
    raw = str(alert.get("rule") or alert.get("kind") or "").lower()
    return _KINDS.get(raw)


def alert_rule_key(alert: Mapping[str, Any], factor_code: str = "") -> str:
    """The rule part of the (station, rule) key: ``rule`` or ``rule:factor``."""
    rule = str(alert.get("rule") or alert.get("kind") or "alert")
    return f"{rule}:{factor_code}" if factor_code else rule


async def _factor(conn: asyncpg.Connection, alert: Mapping[str, Any]) -> tuple[str, str]:
    """(code, Chinese name) of the alert's factor, ("", "") for none."""
    factor_id = alert.get("factor_id")
    if not factor_id:
        return "", ""
    row = await q.factor(conn, int(factor_id))
    if row is None:
        return str(factor_id), str(factor_id)
    return row["code"], row["name_zh"] or row["code"]


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value)
    return None


async def set_alert_rule(
    conn: asyncpg.Connection,
    kind: str,
    rule: str = "*",
    *,
    open_case: bool,
    category: str,
    urgent: bool | None = None,
    offline_hours: float | None = None,
) -> None:
    """Configure which alerts open cases (``rule='*'``: every rule of the kind)."""
    if kind not in ("exceedance", "offline", "flatline", "jump"):
        raise WorkflowError("告警类型须为 exceedance/offline/flatline/jump 之一", "input")
    try:
        await q.upsert_alert_rule(conn, kind, rule, open_case, category, urgent, offline_hours)
    except asyncpg.ForeignKeyViolationError:
        raise WorkflowError(f"未知的案件类别 {category!r}", "input") from None


def _describe(
    alert: Mapping[str, Any], kind: str, station: Mapping[str, Any], factor: str, tz: tzinfo
) -> str:
    parts = [f"站点：{station['name'] or station['mn']}（MN {station['mn']}）"]
    if factor:
        parts.append(f"因子：{factor}")
    for key, label in (("value", "监测值"), ("threshold", "限值")):
        if isinstance(alert.get(key), int | float):
            parts.append(f"{label}：{alert[key]:g}")
    if alert.get("severity"):
        parts.append(f"级别：{PRIORITY_LABELS[priority_of(alert['severity'])]}")
    first = _time(alert.get("first_seen") or alert.get("started_at"))
    if first is not None:
        parts.append(f"首次发生：{first.astimezone(tz):%Y-%m-%d %H:%M}")
    parts.append(f"告警编号：{alert.get('id')}（{KIND_LABELS.get(kind, kind)}）")
    return "；".join(parts)


async def _rule_config(
    conn: asyncpg.Connection, alert: Mapping[str, Any], kind: str
) -> tuple[str, asyncpg.Record | None]:
    """(the factor's Chinese name, the ``case_alert_rules`` row) of an alert."""
    factor_code, factor_name = await _factor(conn, alert)
    rule = alert_rule_key(alert, factor_code)
    cfg = await q.alert_rule_config(conn, kind, rule, str(alert.get("rule") or kind))
    return factor_name, cfg


def _urgent(cfg: asyncpg.Record | None, priority: int) -> bool:
    """紧急: as ``case_alert_rules.urgent`` says, else at 严重."""
    if cfg is not None and cfg["urgent"] is not None:
        return bool(cfg["urgent"])
    return priority >= 3


async def _firing(
    conn: asyncpg.Connection, alert: Mapping[str, Any], config: CaseConfig, now: datetime
) -> BridgeOutcome:
    alert_id = int(alert["id"])
    kind = alert_kind(alert)
    if kind is None:
        return BridgeOutcome("skipped", reason=f"告警规则 {alert.get('rule')!r} 不转案件")
    factor_name, cfg = await _rule_config(conn, alert, kind)
    if cfg is None or not cfg["open_case"]:
        return BridgeOutcome("skipped", reason="该告警规则未配置转案件")
    seen = _time(alert.get("first_seen") or alert.get("started_at")) or now
    offline_hours = float(cfg["offline_hours"] or 0) if kind == "offline" else 0.0
    if offline_hours and now - seen < timedelta(hours=offline_hours):
        return BridgeOutcome("waiting", reason=f"离线未满 {cfg['offline_hours']} 小时")
    station_id = alert.get("station_id")
    station = await q.station(conn, station_id) if station_id is not None else None
    if station is None:
        return BridgeOutcome("skipped", reason="告警没有对应的站点")
    priority = priority_of(alert.get("severity"))
    urgent = _urgent(cfg, priority)
    name = station["name"] or station["mn"]
    window = timedelta(minutes=config.cases.incident_window_minutes)
    existing = await q.incident_case(conn, station["id"], kind)
    if existing is not None and not joins(existing["recovered_at"], seen, window):
        existing = None  # that incident is over: this is a new one
    if existing is None:
        new = NewCase(
            title=incident_title(name, kind, [factor_name]),
            category=cfg["category"],
            source="alert",
            description=_describe(alert, kind, station, factor_name, config.tz),
            lat=station["lat"],
            lon=station["lon"],
            address=station["address"] or "",
            grid_id=station["grid_id"] or alert.get("grid_id"),
            station_id=station["id"],
            alert_rule=kind,
            urgent=urgent,
        )
        try:
            async with conn.transaction():  # savepoint: a racing opener only undoes this
                ref = await create_case(conn, new, _SYSTEM, config, now=now)
                await q.set_priority(conn, ref.id, priority)
            return BridgeOutcome("opened", ref.id)
        except asyncpg.UniqueViolationError:
            existing = await q.incident_case(conn, station["id"], kind)
            if existing is None:
                raise
    case_id = int(existing["id"])
    factors = [r["name_zh"] or r["code"] for r in await q.case_alert_factors(conn, case_id)]
    title = incident_title(name, kind, [*factors, factor_name])
    await q.join_incident(conn, case_id, priority, urgent, title)
    what = f"{factor_name}{KIND_LABELS[kind]}" if factor_name else KIND_LABELS[kind]
    again = "；告警重新出现，案件恢复为告警中" if existing["recovered_at"] is not None else ""
    await add_note(
        conn, case_id, _SYSTEM, config, now=now,
        comment=f"{what}告警（编号 {alert_id}，级别 {PRIORITY_LABELS[priority]}）并入本案件{again}",
    )  # fmt: skip
    return BridgeOutcome("attached", case_id)


async def _escalated(
    conn: asyncpg.Connection, alert_id: int, case_id: int, config: CaseConfig, now: datetime
) -> BridgeOutcome:
    """An alert linked to open case ``case_id`` notified again: its severity may have
    risen (``escalated``); the case's priority follows it up, never down."""
    alert = await q.alert_row(conn, alert_id)
    kind = alert_kind(alert) if alert is not None else None
    if alert is None or kind is None or alert.get("state") not in ("firing", "acknowledged"):
        return BridgeOutcome("duplicate", case_id)
    priority = priority_of(alert.get("severity"))
    factor_name, cfg = await _rule_config(conn, alert, kind)
    raised = await q.escalate_case(conn, case_id, priority, _urgent(cfg, priority))
    if raised is None:  # closed, or already that high: a plain duplicate notification
        return BridgeOutcome("duplicate", case_id)
    what = f"{factor_name}{KIND_LABELS[kind]}" if factor_name else KIND_LABELS[kind]
    label = PRIORITY_LABELS[priority]
    urgent = "，紧急" if raised["urgent"] else ""
    await add_note(
        conn, case_id, _SYSTEM, config, now=now,
        comment=f"{what}告警（编号 {alert_id}）级别升为{label}，案件优先级升为{label}{urgent}",
    )  # fmt: skip
    return BridgeOutcome("escalated", case_id)


async def _recovered(
    conn: asyncpg.Connection, case_id: int, at: datetime, config: CaseConfig, now: datetime
) -> BridgeOutcome:
    """Every alert of the case cleared: 已恢复 with the time, and 自动恢复 when set."""
    row = await q.set_recovered(conn, case_id, at)
    if row is None:  # closed meanwhile, or already recovered
        return BridgeOutcome("noted", case_id)
    state = State(row["state"])
    local = at.astimezone(config.tz)
    await append_event(
        conn, case_id, now, "recovered", state, state, _SYSTEM,
        f"本案件的告警已全部恢复（{local:%Y-%m-%d %H:%M}），可“恢复结案”一步结案",
        None, {"recovered_at": at.isoformat()},
    )  # fmt: skip
    limit = timedelta(minutes=config.cases.auto_close_recovered_minutes)
    touched = bool(await q.case_touched(conn, case_id))
    if not auto_closes(row["reported_at"], at, limit, touched):
        return BridgeOutcome("recovered", case_id)
    minutes = config.cases.auto_close_recovered_minutes
    await transition(
        conn, case_id, Action.CLOSE_RECOVERED, Actor.system("自动恢复"), config, now=now,
        comment=f"自动恢复：告警在立案后 {minutes} 分钟内全部恢复，且无人处理",
    )  # fmt: skip
    return BridgeOutcome("auto_closed", case_id)


async def _resolved(
    conn: asyncpg.Connection, alert: Mapping[str, Any], config: CaseConfig, now: datetime
) -> BridgeOutcome:
    alert_id = int(alert["id"])
    case_id = await q.alert_case(conn, alert_id)
    if case_id is None and alert.get("station_id") is not None:
        factor_code, _ = await _factor(conn, alert)
        case_id = await q.open_alert_case(
            conn, alert["station_id"], alert_rule_key(alert, factor_code)
        )
    if case_id is None:
        return BridgeOutcome("skipped", reason="该告警没有关联案件")
    _, factor_name = await _factor(conn, alert)
    label = f"{factor_name}，" if factor_name else ""
    try:
        await add_note(
            conn, int(case_id), _SYSTEM, config, now=now,
            comment=f"告警已恢复（{label}告警编号 {alert_id}）",
        )  # fmt: skip
    except WorkflowError as exc:  # e.g. the case was archived meanwhile
        return BridgeOutcome("skipped", int(case_id), str(exc))
    if await q.active_case_alerts(conn, case_id, alert_id):
        return BridgeOutcome("noted", int(case_id))
    at = min(_time(alert.get("resolved_at")) or now, now)
    return await _recovered(conn, int(case_id), at, config, now)


async def _first(
    conn: asyncpg.Connection, alert_id: int, state: str, config: CaseConfig, now: datetime
) -> BridgeOutcome:
    """The first firing or resolved notification of an alert, recorded as handled."""
    alert = await q.alert_row(conn, alert_id)
    if alert is None:
        log.warning("alert %s (%s) not found; nothing to do", alert_id, state)
        return BridgeOutcome("missing")
    if state == "firing":
        result = await _firing(conn, alert, config, now)
    else:
        result = await _resolved(conn, alert, config, now)
    if result.outcome != "waiting":
        await q.insert_link(conn, alert_id, state, result.case_id, result.outcome, now)
    return result


async def on_alert_event(
    pool: asyncpg.Pool,
    alert_id: int,
    state: str,
    settings: CaseConfig,
    *,
    now: datetime | None = None,
) -> BridgeOutcome:
    """Apply the alert → case configuration to one alert state change, or to an escalation
    of a linked alert (a repeated firing/acknowledged notification); idempotent."""
    if state not in ("firing", "acknowledged", "resolved"):
        return BridgeOutcome("ignored")
    now = now or datetime.now().astimezone()
    async with pool.acquire() as conn, conn.transaction():
        done = await q.link_done(conn, alert_id, "resolved" if state == "resolved" else "firing")
        if done is not None:
            duplicate = BridgeOutcome("duplicate", done["case_id"], done["outcome"])
            if state == "resolved" or done["outcome"] not in ("opened", "attached"):
                return duplicate
            result = await _escalated(conn, alert_id, int(done["case_id"]), settings, now)
            if result.outcome == "duplicate":
                return duplicate
        elif state == "acknowledged":  # only a linked alert's escalation matters
            return BridgeOutcome("ignored")
        else:
            result = await _first(conn, alert_id, state, settings, now)
    log.info("alert %s %s → %s %s", alert_id, state, result.outcome, result.case_id or "")
    return result


async def alert_case_sweep(
    pool: asyncpg.Pool, now: datetime, config: CaseConfig | None = None
) -> int:
    """Scheduler job: firing alerts not yet handled (offline past N hours, missed
    notifications) → :func:`on_alert_event`.  Returns the number of cases opened or
    attached."""
    config = config or CaseConfig()
    async with pool.acquire() as conn:
        if await q.alerts_table_missing(conn):
            return 0
        alerts = [r[0] for r in await q.firing_alerts(conn)]
        resolved = [int(r[0]) for r in await q.unhandled_resolved(conn)]
        escalated = [
            int(r["id"])
            for r in await q.linked_active_alerts(conn)
            if priority_of(r["severity"]) > r["priority"]
        ]
    count = 0
    for alert_id in escalated:  # escalations whose notification was missed
        await on_alert_event(pool, alert_id, "firing", config, now=now)
    for alert in alerts:
        result = await on_alert_event(pool, int(alert["id"]), "firing", config, now=now)
        count += result.outcome in ("opened", "attached")
    for alert_id in resolved:
        await on_alert_event(pool, alert_id, "resolved", config, now=now)
    return count


async def run_alert_listener(
    pool: asyncpg.Pool, config: CaseConfig, *, retry_s: float = 5.0
) -> None:
    """LISTEN on ``envgrid_alerts`` and bridge each notification; runs until cancelled.

    Holds one pool connection while listening; reconnects after losing it and then
    catches up with :func:`alert_case_sweep`.  Start it as a task in a cleanup context.
    """
    queue: asyncio.Queue[str] = asyncio.Queue()

    def on_notify(_c: object, _pid: int, _channel: str, payload: str) -> None:
        queue.put_nowait(payload)

    while True:
        try:
            async with pool.acquire() as conn:
                await conn.add_listener(ALERTS_CHANNEL, on_notify)
                try:
                    await alert_case_sweep(pool, datetime.now().astimezone(), config)
                    while not conn.is_closed():
                        try:
                            payload = await asyncio.wait_for(queue.get(), timeout=30)
                        except TimeoutError:
                            continue
                        parsed = parse_payload(payload)
                        if parsed is None:
                            log.warning("ignored malformed %s payload %r", ALERTS_CHANNEL, payload)
                            continue
                        try:
                            await on_alert_event(pool, parsed[0], parsed[1], config)
                        except (WorkflowError, asyncpg.PostgresError) as exc:
                            log.error("alert %s %s → case failed: %s", *parsed, exc)
                finally:
                    if not conn.is_closed():
                        await conn.remove_listener(ALERTS_CHANNEL, on_notify)
        except asyncio.CancelledError:
            raise
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("alert → case listener lost its connection (%s); retrying", exc)
        await asyncio.sleep(retry_s)


async def alert_listener_context(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context of the web app: :func:`run_alert_listener` as a task, cancelled at
    shutdown (listed in :data:`web.casework.cases.routes.CONTEXTS`)."""
    config = CaseConfig.from_settings(app[SETTINGS_KEY])
    listener = asyncio.create_task(
        run_alert_listener(app[POOL_KEY], config), name="envgrid-alert-case-bridge"
    )
    log.info("cases: alert → case bridge started")
    try:
        yield
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
