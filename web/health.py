"""Liveness and readiness probes for load balancers, the Docker healthcheck and the
systemd watchdog.

* ``GET /healthz`` — the process answers: no credentials read, no database.
* ``GET /readyz`` — the database answers ``SELECT 1`` and, under ``envgrid serve``, the
  HJ 212 listener of the ingest workers accepts a TCP connection (the web process is a
  sibling of the workers, so it asks the port the way a station would, as the supervisor
  does before its banner).  200 when every check passes, else 503; the body names each
  check ``ok`` or ``failed`` — the cause goes to the log only (no versions, paths or
  addresses in the answer).  Under ``envgrid serve`` the body also lists the host's
  ``roles`` (``ingest``, ``web``, ``alerts``; without ``ingest`` there is no listener to
  check).

Both are routes of the route table with ``auth = "none"`` (``web.routes.PROBES``): the
auth middleware lets them through without looking at cookies or tokens, and they are
GETs (no CSRF) outside the log-in rate limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from aiohttp import web

from web.keys import INGEST_LISTENER_KEY, POOL_KEY, ROLES_KEY
from web.responses import json_response

__all__ = ["CHECK_TIMEOUT_S", "healthz", "listener_address", "listener_error", "readyz"]

log = logging.getLogger("envgrid.web")

#: Each readiness check gives up after this long (a probe must answer quickly).
CHECK_TIMEOUT_S: Final = 2.0


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


def listener_address(host: str, port: int) -> tuple[str, int]:
    """Where to reach a listener bound to ``host``: the wildcard means loopback."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1", port
    if host == "::":
        return "::1", port
    return host, port


async def _database(request: web.Request) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            async with request.app[POOL_KEY].acquire() as conn:
                await conn.fetchval("SELECT 1")
        return True
    except Exception as exc:
        log.warning("readiness: the database does not answer (%s)", exc)
        return False


async def listener_error(address: tuple[str, int]) -> str | None:
    """Why the listener at ``address`` does not accept a TCP connection within
    :data:`CHECK_TIMEOUT_S`, or None when it does (also the supervisor's watchdog)."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            _, writer = await asyncio.open_connection(*address)
    except (OSError, TimeoutError) as exc:
        return str(exc) or type(exc).__name__
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return None


async def _ingest(address: tuple[str, int]) -> bool:
    error = await listener_error(address)
    if error is not None:
        log.warning("readiness: the HJ 212 listener does not accept (%s)", error)
    return error is None


async def readyz(request: web.Request) -> web.Response:
    checks = {"database": await _database(request)}
    listener = request.app.get(INGEST_LISTENER_KEY)
    if listener is not None:
        checks["ingest"] = await _ingest(listener)
    ready = all(checks.values())
    body: dict[str, object] = {
        "status": "ok" if ready else "unavailable",
        "checks": {name: "ok" if passed else "failed" for name, passed in checks.items()},
    }
    roles = request.app.get(ROLES_KEY)
    if roles is not None:
        body["roles"] = list(roles)
    return json_response(body, status=200 if ready else 503)
