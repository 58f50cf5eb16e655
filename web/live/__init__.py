"""Live updates pushed to browsers (SSE): committed readings and alert transitions.

* :mod:`web.live.hub` — the fan-out (plain logic): subscribers with their data scope,
  one bounded queue each, the events they are sent;
* :mod:`web.live.feed` — the one LISTEN connection that feeds the hub;
* :mod:`web.live.stream` — the aiohttp side: the cleanup context and ``GET /api/v1/live``.
"""
