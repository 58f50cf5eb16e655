"""The live feed's one connection against a real PostgreSQL: the LISTEN set-up, the
readings flush (which re-reads factor codes) and the alert lookups share it."""

from __future__ import annotations

import asyncio
import contextlib

from store.db import connect
from store.feed import READINGS_CHANNEL, readings_payloads
from web.live.feed import ALERTS_CHANNEL, LiveFeed
from web.live.hub import LiveHub


async def test_flush_and_alert_lookups_take_turns_on_the_one_connection(db_dsn: str) -> None:
    """A CI run ended with the alert task dead ("another operation is in progress"): a
    flush re-reading factor codes and an alert lookup ran on the connection at once.  Every
    unknown factor id forces the re-read here, while alerts arrive in between."""
    hub = LiveHub()
    feed = LiveFeed(db_dsn, hub, interval_s=0.001)
    await feed.start()
    conn = await connect(db_dsn)
    try:
        await asyncio.wait_for(feed.connected.wait(), 10)
        async with hub.subscribe(None, alerts=True) as everyone:
            for n in range(100):
                (payload,) = readings_payloads("r", [(1, 30_000 + n, 1700000000, 1.0, "N")])
                await conn.execute("SELECT pg_notify($1, $2)", READINGS_CHANNEL, payload)
                alert = f"{n}:firing" if n % 10 else f"{10**20 + n}:firing"  # beyond bigint
                await conn.execute("SELECT pg_notify($1, $2)", ALERTS_CHANNEL, alert)
            alerts = 0
            while alerts < 90:  # a tenth name no alert: skipped
                message = await asyncio.wait_for(everyone.queue.get(), 10)
                alerts += message.startswith(b"event: alert")
        assert not any(task.done() for task in feed._tasks)
    finally:
        await conn.close()
        with contextlib.suppress(Exception):
            await feed.close()
    await feed.close()  # a second close is harmless; the first raised nothing
