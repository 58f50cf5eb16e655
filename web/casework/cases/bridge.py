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

* **firing** — if configured, open a case (source ``alert``) in the station's grid; it is
  accepted and filed by the system and, with ``auto_dispatch`` on, dispatched to the
  grid's responsible unit for the category.  One open case per (station, rule): when one
  is open the alert attaches to it (a trail note) instead.  An offline alert younger than
  ``offline_hours`` waits; :func:`alert_case_sweep` (scheduler job) picks it up later,
  and also replays any firing alert whose notification was missed (listener down).
* **resolved** — a note on the alert's case; the case stays open (people close it).
* pending / acknowledged — nothing.

Each (alert, state) is handled at most once (``case_alert_links`` primary key), so
duplicate notifications and the sweep never double anything; a concurrent second opener
hits the partial unique index ``cases_open_alert_idx`` and attaches instead.

The alert row is read as JSON (``to_jsonb``), by column name, so the bridge keeps working
while the alerts schema grows.  It uses (store/migrations/0020_alerts.sql): ``rule``
(exceedance, aqi_level, offline, flatline, jump; maintenance and offline_mass never open
cases), ``station_id``, ``factor_id`` (0 = none), ``grid_id``, ``severity``, ``value``,
``threshold``, ``first_seen``.  The (station, rule) key of "one open case" is the alert
rule plus the factor code when there is one (``exceedance:a34004``): a repeat of the same
alert — or a new alert for the same station, rule and factor while the case is open —
attaches; a different pollutant is a different problem and opens its own case.
``case_alert_rules.rule`` may name that key, the bare rule, or '*'.
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
from web.casework.cases.intake import NewCase, create_case
from web.casework.cases.service import add_note
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
_KIND_LABELS: Final = {"exceedance": "超标", "offline": "离线", "flatline": "恒值", "jump": "突变"}
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


_SEVERITY_ZH: Final = {"critical": "紧急", "major": "严重", "warning": "警告", "info": "提示"}


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
        parts.append(f"级别：{_SEVERITY_ZH.get(alert['severity'], alert['severity'])}")
    first = _time(alert.get("first_seen") or alert.get("started_at"))
    if first is not None:
        parts.append(f"首次发生：{first.astimezone(tz):%Y-%m-%d %H:%M}")
    parts.append(f"告警编号：{alert.get('id')}（{_KIND_LABELS.get(kind, kind)}）")
    return "；".join(parts)


async def _firing(
    conn: asyncpg.Connection, alert: Mapping[str, Any], config: CaseConfig, now: datetime
) -> BridgeOutcome:
    alert_id = int(alert["id"])
    kind = alert_kind(alert)
    if kind is None:
        return BridgeOutcome("skipped", reason=f"告警规则 {alert.get('rule')!r} 不转案件")
    factor_code, factor_name = await _factor(conn, alert)
    rule = alert_rule_key(alert, factor_code)
    cfg = await q.alert_rule_config(conn, kind, rule, str(alert.get("rule") or kind))
    if cfg is None or not cfg["open_case"]:
        return BridgeOutcome("skipped", reason="该告警规则未配置转案件")
    if kind == "offline" and cfg["offline_hours"]:
        since = _time(alert.get("first_seen") or alert.get("started_at")) or now
        if now - since < timedelta(hours=float(cfg["offline_hours"])):
            return BridgeOutcome("waiting", reason=f"离线未满 {cfg['offline_hours']} 小时")
    station_id = alert.get("station_id")
    station = await q.station(conn, station_id) if station_id is not None else None
    if station is None:
        return BridgeOutcome("skipped", reason="告警没有对应的站点")
    system = Actor.system("告警转案件")
    existing = await q.open_alert_case(conn, station["id"], rule)
    if existing is None:
        name = station["name"] or station["mn"]
        if kind == "offline":
            title = f"{name} 站点离线"
        else:
            title = f"{name} {factor_name} {_KIND_LABELS[kind]}".replace("  ", " ")
        new = NewCase(
            title=title[:200],
            category=cfg["category"],
            source="alert",
            description=_describe(alert, kind, station, factor_name, config.tz),
            lat=station["lat"],
            lon=station["lon"],
            address=station["address"] or "",
            grid_id=station["grid_id"] or alert.get("grid_id"),
            station_id=station["id"],
            alert_rule=rule,
            urgent=cfg["urgent"],
        )
        try:
            async with conn.transaction():  # savepoint: a racing opener only undoes this
                ref = await create_case(conn, new, system, config, now=now)
            return BridgeOutcome("opened", ref.id)
        except asyncpg.UniqueViolationError:
            existing = await q.open_alert_case(conn, station["id"], rule)
            if existing is None:
                raise
    await add_note(
        conn, int(existing), system, config, now=now,
        comment=f"告警再次触发（告警编号 {alert_id}），已并入本案件",
    )  # fmt: skip
    return BridgeOutcome("attached", int(existing))


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
    try:
        await add_note(
            conn, int(case_id), Actor.system("告警转案件"), config, now=now,
            comment=f"告警已恢复（告警编号 {alert_id}）；案件仍需按流程核查结案",
        )  # fmt: skip
    except WorkflowError as exc:  # e.g. the case was archived meanwhile
        return BridgeOutcome("skipped", int(case_id), str(exc))
    return BridgeOutcome("noted", int(case_id))


async def on_alert_event(
    pool: asyncpg.Pool,
    alert_id: int,
    state: str,
    settings: CaseConfig,
    *,
    now: datetime | None = None,
) -> BridgeOutcome:
    """Apply the alert → case configuration to one alert state change (idempotent)."""
    if state not in ("firing", "resolved"):
        return BridgeOutcome("ignored")
    now = now or datetime.now().astimezone()
    async with pool.acquire() as conn, conn.transaction():
        done = await q.link_done(conn, alert_id, state)
        if done is not None:
            return BridgeOutcome("duplicate", done["case_id"], done["outcome"])
        alert = await q.alert_row(conn, alert_id)
        if alert is None:
            log.warning("alert %s (%s) not found; nothing to do", alert_id, state)
            return BridgeOutcome("missing")
        if state == "firing":
            result = await _firing(conn, alert, settings, now)
        else:
            result = await _resolved(conn, alert, settings, now)
        if result.outcome != "waiting":
            await q.insert_link(conn, alert_id, state, result.case_id, result.outcome, now)
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
    count = 0
    for alert in alerts:
        result = await on_alert_event(pool, int(alert["id"]), "firing", config, now=now)
        count += result.outcome in ("opened", "attached")
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
