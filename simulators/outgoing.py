"""One upload frame on its way through a :class:`~simulators.link.Link`, and what a link
tells its owner (:class:`LinkOwner`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from protocol import Frame

__all__ = ["LinkOwner", "Outgoing"]


class LinkOwner(Protocol):
    """What a link tells its station (or replay stream)."""

    def on_connected(self) -> None: ...
    def on_disconnected(self) -> None: ...
    def on_command(self, frame: Frame) -> None: ...
    def on_sent(self, out: Outgoing) -> None: ...
    def on_room(self) -> None: ...
    def reconnect_delay(self) -> float: ...


class Outgoing:
    """One upload frame on its way: what to send, how often it was sent, its ack."""

    __slots__ = (
        "ack",
        "after",
        "bad",
        "cn",
        "codes",
        "data",
        "history",
        "key",
        "prelude",
        "rebuild",
        "retries",
        "sends",
        "sent_at",
        "slow",
        "timer",
        "waiter",
    )

    def __init__(
        self,
        data: bytes,
        cn: int,
        key: str | None,
        *,
        ack: bool,
        codes: tuple[str, ...] = (),
        history: bool = False,
    ) -> None:
        self.data = data
        self.cn = cn
        self.key = key
        self.ack = ack and key is not None
        self.codes = codes
        self.history = history
        self.prelude: bytes | None = None
        #: a broken frame sent as is (replays): counted as bad, never as data
        self.bad = False
        self.slow: float | None = None
        #: (fault kind, simulated seconds) to act on after the first transmission
        self.after: tuple[str, float] | None = None
        #: HJ 212-2025: builds this frame marked RF=1 (backfill), for when it goes out
        #: after a reconnect (see :meth:`mark_backfill`)
        self.rebuild: Callable[[], bytes] | None = None
        self.sends = 0
        self.retries = 0
        self.sent_at = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.waiter: asyncio.Future[bool] | None = None

    def mark_backfill(self) -> bool:
        """Re-sent past data from now on: ``RF=1`` (once; False if not a 2025 upload or
        marked already)."""
        rebuild = self.rebuild
        if rebuild is None:
            return False
        self.rebuild = None
        self.data = rebuild()
        return True

    def settle(self, ok: bool) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(ok)
