"""When the writer takes a batch, and how much it takes (pure: no clock, no I/O).

Theory of operation
-------------------
Two policies, ``ingest.batching``:

* ``group`` (the default, *group commit*): the writer takes what is queued as
  soon as it is idle.  Frames that arrive while a batch is being written wait for
  the next one, so batches grow with the load by themselves: at a few frames per
  second each is written at once; at saturation the queue fills during every COPY
  and batches reach ``batch_rows`` as before.  A frame waits at most one write in
  progress plus its own.
* ``timed``: a batch waits until it holds ``batch_rows`` rows or its oldest frame
  has waited ``batch_ms`` (the policy before issue 23: a fixed delay of up to
  ``batch_ms`` at low load, in exchange for fewer, larger transactions).

Either way a batch never holds more than ``batch_rows`` rows unless its first
frame alone is heavier, and a closing pipeline writes at once.
"""

from __future__ import annotations

from collections import deque
from typing import Literal, Protocol, TypeVar

__all__ = ["Batching", "Weighted", "batch_wait", "take_batch"]

Batching = Literal["group", "timed"]


class Weighted(Protocol):
    @property
    def weight(self) -> int: ...


T = TypeVar("T", bound=Weighted)


def batch_wait(
    policy: Batching,
    *,
    queued_rows: int,
    oldest_age_s: float,
    batch_rows: int,
    batch_s: float,
    closing: bool = False,
) -> float:
    """Seconds the idle writer waits before it takes a batch (0: take it now)."""
    if policy == "group" or closing or queued_rows >= batch_rows:
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
