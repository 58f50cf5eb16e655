"""Several hosts on one database: the roles a host plays (``[cluster]``) and the election
of the one process that runs the alert engine and the scheduled jobs.

Roles (``cluster.roles``, ``envgrid serve --role``): ``ingest`` (the HJ 212 workers),
``web`` (the dashboard) and ``alerts`` (a candidate for leadership: when elected it runs
the alert engine and the one scheduler).  Any number of hosts may play any roles; exactly
one candidate leads at a time.

Election (:class:`LeaderElection`): a PostgreSQL *session* advisory lock
(:data:`LEADER_LOCK_KEY`) held on a dedicated connection.  A standby tries
``pg_try_advisory_lock`` every ``leader_retry_s``; the leader checks its connection every
``leader_heartbeat_s`` (a check not answered within that long, or the connection ending,
means leadership is lost and the leader stops its work at once).

Why a lock and not a lease row: the lock lives exactly as long as the leader's session,
so a process that dies (even by SIGKILL: the kernel closes its socket and the server
ends the session) frees it at once — no clock, no expiry to wait for, no writes, no
migration.  A cut connection (the leader alive, its network gone) is the slow case: the
server notices only by TCP keepalive, which the lock connection sets to about
``leader_heartbeat_s`` (``tcp_keepalives_*``; the server drops the session after about
four heartbeats), while the old leader has stepped down after at most two.  A new leader
waits :attr:`ClusterSettings.takeover_grace_s` (two heartbeats) after taking the lock
before it starts work, so the two never run at once even when the server ended the old
session itself (``pg_terminate_backend``).  What is sent still cannot be sent twice if
that ever failed: the outbox queues a message once per idempotency key and claims a row
before sending it (:mod:`alerts.outbox`).  The lock needs a direct session (or a pooler
in *session* mode): a transaction-mode pooler would hand the lock to another client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
from dataclasses import dataclass
from typing import Final

import asyncpg

from store.db import CONNECTION_ERRORS, connect
from store.validation import ConfigError, require

__all__ = [
    "FORWARDER_LOCK_KEY",
    "LEADER_LOCK_KEY",
    "ROLES",
    "ClusterSettings",
    "LeaderElection",
    "parse_roles",
]

log = logging.getLogger("envgrid.leader")

#: The roles of a host, in start order.
ROLES: Final = ("ingest", "web", "alerts")
#: The advisory-lock key of the leadership ("envgrid" + "L"; the migrations use "envgrid").
LEADER_LOCK_KEY: Final = int.from_bytes(b"envgridL", "big") & 0x7FFF_FFFF_FFFF_FFFF
#: The forwarder to upstream platforms (forward/) is elected on a lock of its own: one
#: per database, on any host with the alerts role, independent of the leader.
FORWARDER_LOCK_KEY: Final = int.from_bytes(b"envgridF", "big") & 0x7FFF_FFFF_FFFF_FFFF

#: What a query on the lock connection raises when that connection fails (asyncpg raises
#: InternalClientError when the server ends the session during a query).
_LOCK_ERRORS: Final = (*CONNECTION_ERRORS, asyncpg.PostgresError, asyncpg.InternalClientError)
_TRY_LOCK_SQL: Final = "SELECT pg_try_advisory_lock($1)"
#: Short TCP keepalives on the lock connection: the server ends a cut-off leader's
#: session (and so frees its lock) within about a heartbeat.
_KEEPALIVE_SQL: Final = """
SELECT set_config('tcp_keepalives_idle', $1, false),
       set_config('tcp_keepalives_interval', $1, false),
       set_config('tcp_keepalives_count', '3', false)
"""
_HOLDS_LOCK_SQL: Final = """
SELECT count(*) > 0 FROM pg_locks
 WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
   AND ((classid::bigint << 32) | objid::bigint) = $1
"""


def parse_roles(text: str) -> tuple[str, ...]:
    """``"ingest,web"`` → ``("ingest", "web")`` in :data:`ROLES` order; ValueError names
    an unknown role."""
    names = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(names - set(ROLES))
    if unknown:
        raise ValueError(
            f"unknown role {', '.join(unknown)!s}: choose from {', '.join(ROLES)} (comma-separated)"
        )
    if not names:
        raise ValueError(f"no role given: choose from {', '.join(ROLES)} (comma-separated)")
    return tuple(r for r in ROLES if r in names)


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """Which parts of envgrid this host runs, and how the leader is elected."""

    #: What ``envgrid serve`` runs here: ``ingest`` (HJ 212 workers), ``web`` (dashboard),
    #: ``alerts`` (candidate to lead: the alert engine and the scheduled jobs, elected
    #: through the database — one leader among all hosts).
    roles: tuple[str, ...] = ROLES
    #: This host's name in the leader's log lines and ``pg_stat_activity``; "" = hostname.
    node_name: str = ""
    #: A standby tries to take the leadership this often (seconds).
    leader_retry_s: float = 2.0
    #: The leader checks its lock connection this often; no answer within as long = lost.
    leader_heartbeat_s: float = 2.0

    def __post_init__(self) -> None:
        try:
            roles = parse_roles(",".join(self.roles))
        except ValueError as exc:
            raise ConfigError(f"cluster.roles: {exc}") from None
        object.__setattr__(self, "roles", roles)
        require(
            0 < self.leader_retry_s <= 10,
            f"cluster.leader_retry_s must be > 0 and ≤ 10 (got {self.leader_retry_s})",
        )
        require(
            0 < self.leader_heartbeat_s <= 5,
            f"cluster.leader_heartbeat_s must be > 0 and ≤ 5 (got {self.leader_heartbeat_s})"
            " so that a standby takes over within 30 s",
        )

    @property
    def node(self) -> str:
        return self.node_name or socket.gethostname()

    @property
    def takeover_grace_s(self) -> float:
        """How long a new leader waits before it starts: an old leader that lost its
        session has stepped down by then (a heartbeat plus its timeout)."""
        return 2 * self.leader_heartbeat_s

    @property
    def keepalive_s(self) -> int:
        """``tcp_keepalives_idle``/``_interval`` of the lock connection (whole seconds)."""
        return max(1, math.ceil(self.leader_heartbeat_s))


class LeaderElection:
    """One candidate's side of the election: :meth:`campaign` until elected, then
    :meth:`watch` until lost, :meth:`release` when done leading."""

    def __init__(
        self,
        dsn: str,
        settings: ClusterSettings,
        *,
        what: str = "leader",
        lock_key: int = LEADER_LOCK_KEY,
    ) -> None:
        self.dsn = dsn
        self.settings = settings
        self.what = what
        self.lock_key = lock_key
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._waiting_logged = False

    @property
    def identity(self) -> str:
        return f"{self.settings.node} pid {os.getpid()}"

    async def campaign(self, stop: asyncio.Event) -> bool:
        """Wait until this process leads (True) or ``stop`` is set (False).  A database
        that is away is retried every ``leader_retry_s``."""
        s = self.settings
        while not stop.is_set():
            try:
                if await self._try_lock():
                    if not await _wait(stop, s.takeover_grace_s) and await self._still_held():
                        return True
                    await self.release()
                    continue
            except _LOCK_ERRORS as exc:
                log.warning("%s election: database unreachable (%s); retrying", self.what, exc)
                await self._drop()
            if not self._waiting_logged:
                log.info("%s: standing by (%s); another process leads", self.what, self.identity)
                self._waiting_logged = True
            await _wait(stop, s.leader_retry_s)
        return False

    async def watch(self) -> str:
        """Return (with the reason) once the leadership is lost: the lock connection
        ended, or a heartbeat failed or was not answered within ``leader_heartbeat_s``."""
        s = self.settings
        while True:
            if await _wait(self._lost, s.leader_heartbeat_s):
                return "the lock connection was closed"
            try:
                async with asyncio.timeout(s.leader_heartbeat_s):
                    if not await self._still_held():
                        if self._lost.is_set() or self._conn is None or self._conn.is_closed():
                            # ended between the wait and the check: say so, not "not held"
                            return "the lock connection was closed"
                        return "the lock is no longer held"
            except TimeoutError:
                return f"no answer from the database within {s.leader_heartbeat_s:g} s"
            except _LOCK_ERRORS as exc:
                return f"the lock connection failed ({type(exc).__name__}: {exc})"

    async def release(self) -> None:
        """Give the leadership up (unlock and close the lock connection)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(*_LOCK_ERRORS):
            async with asyncio.timeout(self.settings.leader_heartbeat_s):
                await conn.close()
        if not conn.is_closed():
            conn.terminate()

    async def _try_lock(self) -> bool:
        if self._conn is None or self._conn.is_closed():
            self._conn = await self._connect()
        async with asyncio.timeout(max(5.0, self.settings.leader_retry_s)):
            return bool(await self._conn.fetchval(_TRY_LOCK_SQL, self.lock_key))

    async def _still_held(self) -> bool:
        conn = self._conn
        if conn is None or conn.is_closed() or self._lost.is_set():
            return False
        return bool(await conn.fetchval(_HOLDS_LOCK_SQL, self.lock_key))

    async def _connect(self) -> asyncpg.Connection:
        self._lost = asyncio.Event()
        role = "leader" if self.lock_key == LEADER_LOCK_KEY else "forwarder"
        conn = await connect(self.dsn, application_name=f"envgrid-{role} {self.settings.node}"[:63])
        try:
            await conn.execute(_KEEPALIVE_SQL, str(self.settings.keepalive_s))
        except BaseException:
            conn.terminate()
            raise
        lost = self._lost
        conn.add_termination_listener(lambda _conn: lost.set())
        return conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds`` for ``event``; True when it is set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()
