"""The alert engine as one long-running object: listener, evaluator, writer, sweeper,
dispatcher and sender; what its scheduled jobs call (:mod:`alerts.jobs`).

Theory of operation
-------------------
Start (:meth:`AlertService.start`):

1. a pool (``envgrid-alerts``) and the configuration snapshot (:func:`load_config`);
2. the open alerts (:class:`~alerts.writer.AlertWriter`), the saved rule states
   (``alert_rule_state``), reconciled with each other; the offline states from the open
   offline alerts; the dispatcher's marks and groups;
   the states of the exceedances on means (:mod:`alerts.means_job`) from their open alerts;
3. a dedicated LISTEN connection on ``envgrid_readings``, ``envgrid_alerts`` and
   ``envgrid_alert_config``.  Readings that arrive while we catch up are buffered;
4. the catch-up: the data of the last ``alerts.catchup_s`` before the state was saved
   (or before now, on a first start) is re-evaluated from ``measurements_rtd``/``_minute``/
   ``_hour``, then the buffered live readings — so a restart loses no alert;
5. the tasks: the flush loop (transitions → database every ``alerts.flush_ms``), the
   sender and the listener watchdog (reconnects and catches up again after the database
   went away).

The periodic work (sweeps, dispatch ticks, state saves, reloads, the daily ranking,
housekeeping) is offered as :class:`store.jobs.Job` values by
:func:`alerts.jobs.scheduled_jobs`; the process's one scheduler runs them (the service
creates none).

Stop (after the scheduler is off): the last transitions flushed, the rule state saved,
the last messages sent (bounded wait), connections closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from aggregates.jobs import sync_timezone
from alerts.settings import AlertsConfig
from store.db import CONNECTION_ERRORS, connect, create_pool
from store.engine import Engine, recorded_engine
from store.feed import READINGS_CHANNEL

from . import queries
from .config import AlertConfig, FactorInfo
from .dispatcher import Dispatcher
from .engine import StreamEvaluator
from .loader import load_config, load_stations
from .means_job import MeanJudge, MeansResult
from .metrics import AlertMetrics
from .model import ALERTS_CHANNEL, CONFIG_CHANNEL, columns
from .notifiers import Channels
from .outbox import Sender
from .ranking import rank_and_push
from .rules import IN_STREAM_RULES, OFFLINE
from .sweeper import OfflineSweeper, SweepResult
from .writer import AlertWriter, Transition

__all__ = ["CONNECTION_ERRORS", "AlertService"]

log = logging.getLogger(__name__)

_SAVED_AT_KEY = "state_saved_at"
_MAX_CATCHUP_S = 3600.0
#: Values of stations or factors registered since the last load make the registry reload
#: at most this often (so a new station's first alerts are not a config reload late).
_REGISTRY_RELOAD_S = 2.0
#: stored values re-evaluated per batch in a catch-up
_CATCHUP_BATCH = 10_000


def _freeze_long_lived() -> None:
    """Move what is alive now (configuration, slots, open alerts: hundreds of thousands of
    objects at 36,000 stations) out of the cyclic collector's way: its full collections
    otherwise walk them all, a mass-outage sweep 20 % slower (bench/alerts.py)."""
    gc.collect()
    gc.freeze()


def _feed_records(evaluator: StreamEvaluator, kind: str, rows: list[asyncpg.Record]) -> int:
    """Catch-up rows (station, factor, POSIX s, value, flag) → the evaluator."""
    if not rows:
        return 0
    return evaluator.feed_rows(kind, *columns(rows, 5))


async def _close_or_terminate(
    target: asyncpg.Pool | asyncpg.Connection,
    wait_s: float,
    errors: tuple[type[BaseException], ...],
) -> None:
    """Close ``target`` gracefully within ``wait_s`` seconds; on ``errors``, cut it off."""
    try:
        await asyncio.wait_for(target.close(), wait_s)
    except errors:
        target.terminate()


class AlertService:
    """See the module docstring.  ``async with AlertService(settings, dsn) as svc``."""

    def __init__(
        self, settings: AlertsConfig, dsn: str, metrics: AlertMetrics | None = None
    ) -> None:
        self.settings = settings
        self.metrics = metrics if metrics is not None else AlertMetrics()
        self.dsn = dsn
        self.pool: asyncpg.Pool | None = None
        self.config: AlertConfig | None = None
        self.writer = AlertWriter()
        self.sweeper = OfflineSweeper()
        self.means = MeanJudge()
        self.evaluator: StreamEvaluator | None = None
        self.dispatcher: Dispatcher | None = None
        self.sender: Sender | None = None
        self.channels = Channels(settings.alerts)
        self._listener: asyncpg.Connection | None = None
        self._incoming: list[str] = []
        self._incoming_since = 0.0  # when the oldest of _incoming arrived (time.time())
        self._catching_up = False
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._flush_now = asyncio.Event()
        self._reload_wanted = False
        self._last_reading = time.time()
        self._registry_loaded = 0.0
        self._saved_keys: set[tuple[int, int, str]] = set()
        self.flushes = 0

    # -- lifecycle ---------------------------------------------------------------------------
    async def __aenter__(self) -> AlertService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def cfg(self) -> AlertConfig:
        assert self.config is not None, "AlertService.start() first"
        return self.config

    async def start(self) -> None:
        db = self.settings.database
        self.pool = await create_pool(
            self.dsn,
            min_size=1,
            max_size=max(4, min(db.pool_max, 8)),
            application_name="envgrid-alerts",
            statement_timeout_ms=db.statement_timeout_ms or None,
            connect_timeout_s=db.connect_timeout_s,
        )
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        assert self.pool is not None
        pool = self.pool
        async with pool.acquire() as conn:
            engine = await recorded_engine(conn) or Engine.POSTGRESQL
            await sync_timezone(conn, self.settings, engine)
        self.config = await load_config(pool, self.settings)
        open_rows = await self.writer.load(pool)
        self.evaluator = StreamEvaluator(self.config)
        saved = [
            (r["station_id"], r["factor_id"], r["rule"], r["state"])
            for r in await pool.fetch(queries.LOAD_RULE_STATE_SQL)
            if r["rule"] in IN_STREAM_RULES
        ]
        open_map = {
            (r["rule"], r["scope_key"], r["factor_id"]): (r["state"], float(r["first_seen"]))
            for r in open_rows
            if r["rule"] in IN_STREAM_RULES
        }
        restored = self.evaluator.restore(saved, open_map)
        self._saved_keys = {(s, f, r) for s, f, r, _ in saved}
        self.sweeper.restore(open_rows)
        self.means.restore(open_rows, self.config)
        self.dispatcher = Dispatcher(self.cfg, on_queued=self._wake_sender)
        await self.dispatcher.load(pool)
        self.sender = Sender(pool, self.channels, self.cfg, metrics=self.metrics)
        await self.sender.reclaim()
        log.info(
            "alert engine: %d stations, %d open alerts, %d rule states restored",
            len(self.config.stations),
            len(self.writer.open),
            restored,
        )
        saved_at = await pool.fetchval(queries.GET_META_SQL, _SAVED_AT_KEY)
        now = float(await pool.fetchval(queries.DB_NOW_SQL))
        since = (float(saved_at) if saved_at is not None else now) - self.settings.alerts.catchup_s
        await self._listen()
        await self.catch_up(max(since, now - _MAX_CATCHUP_S))
        _freeze_long_lived()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._flush_loop(), name="alerts-flush"),
            loop.create_task(self.sender.run(self._stop), name="alerts-sender"),
            loop.create_task(self._watch_listener(), name="alerts-listener"),
        ]

    async def stop(self) -> None:
        """The sender finishes the message in hand; then the last transitions, the rule
        state and the last messages (bounded waits)."""
        self._stop.set()
        sender = [t for t in self._tasks if t.get_name() == "alerts-sender"]
        others = [t for t in self._tasks if t not in sender]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        if sender:  # it leaves its loop once the current round is done
            _, late = await asyncio.wait(sender, timeout=15)
            for task in late:
                task.cancel()
            await asyncio.gather(*sender, return_exceptions=True)
        self._tasks = []
        if self.pool is not None and self.evaluator is not None:
            try:
                await self.flush()
                await self.save_state()
                if self.dispatcher is not None and self.sender is not None:
                    await self.dispatch()
                    await asyncio.wait_for(self.sender.send_due(), 10)
            except (*CONNECTION_ERRORS, asyncpg.PostgresError) as exc:
                log.warning("alert engine stopped without its last writes: %s", exc)
        await self._close_listener()
        await self.channels.close()
        gc.unfreeze()  # what was long-lived may now be garbage
        if self.pool is not None:
            pool, self.pool = self.pool, None
            await _close_or_terminate(pool, 10, (TimeoutError,))

    # -- listening ---------------------------------------------------------------------------
    async def _listen(self) -> None:
        conn = await connect(self.dsn, application_name="envgrid-alerts-listen")
        try:
            await conn.add_listener(READINGS_CHANNEL, self._on_reading)
            await conn.add_listener(ALERTS_CHANNEL, self._on_alert)
            await conn.add_listener(CONFIG_CHANNEL, self._on_config)
        except BaseException:
            await conn.close()
            raise
        self._listener = conn

    async def _close_listener(self) -> None:
        conn, self._listener = self._listener, None
        if conn is not None and not conn.is_closed():
            await _close_or_terminate(conn, 5, CONNECTION_ERRORS)

    def _on_reading(self, conn: object, pid: int, channel: str, payload: str) -> None:
        self._last_reading = time.time()
        if not self._incoming:
            self._incoming_since = self._last_reading
        self._incoming.append(payload)  # evaluated in one batch by the next flush

    def evaluate_incoming(self) -> int:
        """Evaluate the payloads received since the last call (not during a catch-up: its
        stored data goes first)."""
        if self._catching_up or not self._incoming or self.evaluator is None:
            return 0
        payloads, self._incoming = self._incoming, []
        self.metrics.evaluated(time.time() - self._incoming_since)
        return self.evaluator.feed_payloads(payloads)

    def backlog(self) -> tuple[int, float]:
        """Reading notifications waiting for evaluation, and the oldest one's age (s)."""
        return len(self._incoming), time.time() - self._incoming_since if self._incoming else 0

    def _on_alert(self, conn: object, pid: int, channel: str, payload: str) -> None:
        alert_id, _, state = payload.partition(":")
        if not (alert_id.isascii() and alert_id.isdigit()):
            return
        if self.dispatcher is not None:
            self.dispatcher.changed(int(alert_id))
        if self.writer.own_notice(payload):
            return  # our own transition: the rule state is already where it should be
        key = self.writer.note_state(int(alert_id), state)
        if key is not None:  # no longer open (resolved by a user)
            if key[0] == OFFLINE and key[1].startswith("station:"):
                self.sweeper.states.pop(int(key[1][8:]), None)
            elif self.evaluator is not None:
                self.evaluator.reset(key)
                self.means.reset(key)

    def _on_config(self, conn: object, pid: int, channel: str, payload: str) -> None:
        self._reload_wanted = True
        self._flush_now.set()

    async def _watch_listener(self) -> None:
        backoff = 1.0
        while True:
            await asyncio.sleep(1.0)
            if self._listener is not None and not self._listener.is_closed():
                backoff = 1.0
                continue
            await self._close_listener()
            try:
                await self._listen()
            except CONNECTION_ERRORS as exc:
                log.warning(
                    "alert listener: database unavailable (%s); retry in %.0f s", exc, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            log.info("alert listener reconnected; re-evaluating the data since the outage")
            try:
                await self.catch_up(self._last_reading - 120.0)
            except CONNECTION_ERRORS as exc:
                log.warning("catch-up after reconnect failed (%s); will retry", exc)
                await self._close_listener()

    async def catch_up(self, since: float) -> int:
        """Re-evaluate the stored data since ``since`` (POSIX s), then the readings that
        arrived meanwhile."""
        assert self.pool is not None and self.evaluator is not None
        evaluator = self.evaluator
        self._catching_up = True
        n = 0
        try:
            start = datetime.fromtimestamp(since, UTC)
            until = datetime.fromtimestamp(
                float(await self.pool.fetchval(queries.DB_NOW_SQL)) + 86400, UTC
            )
            for kind, sql in (
                ("r", queries.CATCHUP_RTD_SQL),
                ("m", queries.CATCHUP_MINUTE_SQL),
                ("h", queries.CATCHUP_HOUR_SQL),
            ):
                async with self.pool.acquire() as conn, conn.transaction():
                    rows: list[asyncpg.Record] = []
                    async for r in conn.cursor(sql, start, until, prefetch=_CATCHUP_BATCH):
                        rows.append(r)
                        if len(rows) >= _CATCHUP_BATCH:
                            n += _feed_records(evaluator, kind, rows)
                            rows = []
                    n += _feed_records(evaluator, kind, rows)
        finally:
            self._catching_up = False
            self.evaluate_incoming()
        if n:
            log.info("caught up: %d stored values re-evaluated", n)
        return n

    # -- writing -----------------------------------------------------------------------------
    async def _flush_loop(self) -> None:
        interval = self.settings.alerts.flush_ms / 1000
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), interval)
            self._flush_now.clear()
            if self._reload_wanted:
                self._reload_wanted = False
                await self._guard("reload-config", self.reload_config)
            elif (
                self.evaluator is not None
                and self.evaluator.unknown
                and time.monotonic() - self._registry_loaded >= _REGISTRY_RELOAD_S
            ):
                await self._guard("reload-registry", self.reload_registry)
            await self._guard("flush", self.flush)

    async def _guard(self, what: str, job: Callable[[], Awaitable[Any]]) -> None:
        try:
            await job()
        except CONNECTION_ERRORS as exc:
            log.warning("%s: database unavailable (%s); will retry", what, exc)
        except asyncpg.PostgresError as exc:
            log.error("%s failed: %s", what, exc)
        except Exception:  # a bug must not stop the loop or the job behind it
            log.exception("%s failed", what)

    async def flush(self) -> int:
        """Write the pending transitions (one transaction).  When the database is away the
        batch waits for the next flush; when the database refuses it (a bug, a constraint)
        the transitions are written one by one and only those refused are dropped, logged —
        one bad transition must not block every alert behind it."""
        assert self.pool is not None and self.evaluator is not None
        self.evaluate_incoming()
        batch = self.evaluator.take()
        if not batch:
            return 0
        try:
            async with self.pool.acquire() as conn:
                outcome = await self.writer.apply(conn, batch)
        except asyncpg.PostgresError as exc:
            if isinstance(exc, CONNECTION_ERRORS):
                self.evaluator.put_back(batch)
                raise
            log.error("alert batch of %d refused (%s); writing one by one", len(batch), exc)
            await self._flush_singly(batch)
            return len(batch)
        except BaseException:
            self.evaluator.put_back(batch)
            raise
        self.flushes += 1
        for key in outcome.gone:
            self.evaluator.reset(key)
        return len(batch)

    async def _flush_singly(self, batch: list[Transition]) -> None:
        assert self.pool is not None and self.evaluator is not None
        for i, transition in enumerate(batch):
            try:
                async with self.pool.acquire() as conn:
                    outcome = await self.writer.apply(conn, [transition])
            except asyncpg.PostgresError as exc:
                if isinstance(exc, CONNECTION_ERRORS):
                    self.evaluator.put_back(batch[i:])
                    raise
                change = transition.change
                log.error("alert transition dropped: %s %s: %s", transition.key, change.action, exc)
                continue
            for key in outcome.gone:
                self.evaluator.reset(key)

    # -- jobs --------------------------------------------------------------------------------
    async def sweep(self) -> SweepResult:
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            return await self.sweeper.sweep(conn, self.writer, self.cfg())

    async def judge_means(self) -> MeansResult:
        """Exceedance on means for the hours closed since the last run (alerts.means_job)."""
        assert self.pool is not None
        return await self.means.run(self.pool, self.writer, self.cfg())

    async def dispatch(self) -> int:
        assert self.pool is not None and self.dispatcher is not None
        queued = await self.dispatcher.tick(self.pool)
        await self.dispatcher.forget_idle_groups(self.pool)
        return queued

    def _wake_sender(self) -> None:
        if self.sender is not None:
            self.sender.wake.set()

    async def save_state(self) -> int:
        assert self.pool is not None and self.evaluator is not None
        rows = self.evaluator.dump_states()
        keys = {(s, f, r) for s, f, r, _ in rows}
        gone = self._saved_keys - keys
        now = float(await self.pool.fetchval(queries.DB_NOW_SQL))
        async with self.pool.acquire() as conn, conn.transaction():
            if rows:
                states = [(s, f, r, orjson.dumps(st).decode()) for s, f, r, st in rows]
                await conn.execute(queries.SAVE_RULE_STATE_SQL, *columns(states, 4))
            if gone:
                await conn.execute(queries.DELETE_RULE_STATE_SQL, *columns(gone, 3))
            await conn.execute(queries.SET_META_SQL, _SAVED_AT_KEY, now)
        self._saved_keys = keys
        return len(rows)

    async def reload_config(self) -> None:
        assert self.pool is not None and self.evaluator is not None
        self.config = await load_config(self.pool, self.settings)
        self.evaluator.set_config(self.config)
        _freeze_long_lived()

    async def reload_registry(self) -> None:
        """Cheaper than a full reload: pick up stations and factors registered since (the
        values waiting for them are evaluated then)."""
        assert self.pool is not None and self.evaluator is not None and self.config is not None
        self._registry_loaded = time.monotonic()
        self.config.stations = await load_stations(self.pool, self.config.area_codes)
        self.config.factors = {
            r["id"]: FactorInfo(r["id"], r["code"], r["name_zh"], r["unit"])
            for r in await self.pool.fetch(queries.LOAD_FACTORS_SQL)
        }
        self.evaluator.set_config(self.config)

    async def daily_ranking(self) -> int:
        """Yesterday's ranking computed and pushed (:func:`alerts.ranking.rank_and_push`)."""
        assert self.pool is not None
        queued = await rank_and_push(self.pool, self.settings, self.cfg())
        if queued:
            self._wake_sender()
        return queued

    async def housekeeping(self) -> None:
        assert self.pool is not None
        days = self.settings.alerts.history_days
        async with self.pool.acquire() as conn:
            for sql in (
                queries.PURGE_NOTIFICATIONS_SQL,
                queries.PURGE_ALERTS_SQL,
                queries.PURGE_SILENCES_SQL,
            ):
                await conn.execute(sql, days)
            await conn.execute(queries.PURGE_RULE_STATE_SQL)
            await conn.execute(queries.PURGE_GROUPS_SQL)
