"""When the writer takes a batch, and how much it takes (pure: no clock, no I/O).

Theory of operation
-------------------
*Group commit*: the writer writes one batch at a time.  Once it is idle it takes
what is queued as soon as the oldest queued frame has waited ``batch_ms`` (or
``batch_rows`` rows are queued, or the pipeline is closing); frames that arrive
while a batch is being written wait for the next one.  So batches grow with the
load by themselves: at a few frames per second each goes nearly alone, at
saturation the queue fills during every COPY and batches reach ``batch_rows``.

``batch_ms`` is a small *linger* (as PostgreSQL's ``commit_delay``): a few
milliseconds of company for a frame, so that at moderate load each transaction
carries several frames instead of one (its fixed cost — BEGIN, the ledger insert,
the COPYs, COMMIT — is most of the writer's CPU with batches of one to three
frames: the py-spy profile of issue 23).  0 writes at once.  Before issue 23 the
default was 200 ms: every frame at moderate load waited ~200 ms for company; then 20 ms;
40 ms in the eleventh session of issue 23: at 10,000 frames/s half the transactions (each
a handful of round trips, and on each a wake-up of this process and of its PostgreSQL
backend) and each station's acks of a batch in one write, for ~15 ms more on a median
ack; 80 ms since the twelfth (half again: 8–9 % less CPU a frame, ~25 ms more).

A batch never holds more than ``batch_rows`` rows unless its first frame alone is
heavier.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol, TypeVar

__all__ = ["Weighted", "batch_wait", "take_batch"]


class Weighted(Protocol):
    @property
    def weight(self) -> int: ...


T = TypeVar("T", bound=Weighted)


def batch_wait(
    *,
    queued_rows: int,
    oldest_age_s: float,
    batch_rows: int,
    batch_s: float,
    closing: bool = False,
) -> float:
    """Seconds the idle writer waits before it takes a batch (0: take it now)."""
    if closing or queued_rows >= batch_rows:
        return 0.0
    return max(0.0, batch_s - oldest_age_s)


def take_batch(queue: deque[T], batch_rows: int) -> tuple[list[T], int]:
    """Pop the next batch off the front of ``queue``: frames until ``batch_rows`` rows
    are reached (at least one frame).  Returns the batch and its rows."""
    batch: list[T] = []
    rows = 0
    while queue and rows < batch_rows:
        item = queue.popleft()
        rows += item.weight
        batch.append(item)
    return batch, rows
