"""What stalls a worker's event loop: its lag, and the garbage collector's pauses.

Theory of operation
-------------------
A frame waits in the kernel until the worker's loop reads it, and its ack waits
until the loop runs the writer's callback: every stall of the loop adds to the
latency a station sees, but not to the received → committed time the pipeline
measures (its clock starts when the loop reads the frame).  Two cheap probes,
sampled into Prometheus by :class:`ingest.metrics.WorkerMetrics`:

* **Loop lag** — a callback due every ``interval`` seconds (10 ms) records how
  late it ran: the time the loop spent on something else in one go.
* **GC pauses** — ``gc.callbacks`` times each collection; every collection's time
  adds to a per-generation total, and pauses of generation 1–2 or of 1 ms and more
  are kept one by one for the histogram (generation-0 collections come hundreds
  of times a second and take microseconds).

Both lists are drained by the metrics update once a second, so they stay short.

:class:`QuietGc` is the fix the GC probe pointed at (issue 23): with tens of
thousands of connections a full (generation-2) collection walks every long-lived
object and stopped a worker's loop for 0.2–0.5 s several times a minute.  What
fed those collections were short-lived objects (a frame's ``Inbound``, a
simulator's in-flight frame) that lived just long enough to be seen by two
young collections and were promoted; once enough were promoted (a quarter of the
long-lived set) a full collection came.  So: freeze what start-up built (it
lives for the whole process), and collect the young generation every 50,000
net allocations instead of 700 — most such objects are gone by refcount before
a collection sees them, so little is promoted and full collections become rare
(measured: the bench's ``gc_pauses_by_generation``).  The same change took the
collector's share of a worker's CPU at 10,000 frames/s from 14 % to nothing
measurable (py-spy, bench/README.md "CPU per frame").  Cycles (an exception's
traceback, say) are still collected, just later.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from typing import Any

__all__ = ["GC_THRESHOLDS", "GcWatch", "LoopLag", "QuietGc"]

#: (young, middle, old) collection thresholds while a process serves or simulates
GC_THRESHOLDS = (50_000, 20, 100)


class LoopLag:
    """How late a callback due every ``interval`` seconds runs: each lag (seconds) goes
    to :attr:`samples`, or to ``record(when, lag)`` if given (``time.monotonic()``)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        interval: float = 0.01,
        record: Callable[[float, float], None] | None = None,
    ) -> None:
        self.loop = loop
        self.interval = interval
        self.samples: list[float] = []
        self._record = record
        self._due = 0.0
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._due = time.monotonic() + self.interval
        self._handle = self.loop.call_later(self.interval, self._tick)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self) -> None:
        now = time.monotonic()
        lag = max(0.0, now - self._due)
        if self._record is None:
            self.samples.append(lag)
        else:
            self._record(now, lag)
        self._due = now + self.interval
        self._handle = self.loop.call_later(self.interval, self._tick)


class GcWatch:
    """Times every collection of the cyclic garbage collector (``gc.callbacks``)."""

    #: pauses of generation 0 shorter than this are only added to the totals
    KEEP_S = 0.001

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []  # (generation, seconds)
        self.seconds = [0.0, 0.0, 0.0]  # per generation, since start
        self.collections = [0, 0, 0]
        self._started = 0.0

    def install(self) -> None:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def uninstall(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        seconds = time.perf_counter() - self._started
        generation = int(info.get("generation", 0))
        self.seconds[generation] += seconds
        self.collections[generation] += 1
        if generation or seconds >= self.KEEP_S:
            self.pauses.append((generation, seconds))


class QuietGc:
    """Freeze what exists now and raise the collection thresholds; :meth:`restore`
    puts the thresholds back and unfreezes (for code that runs inside a longer-lived
    process, such as the tests)."""

    def __init__(self) -> None:
        self._previous: tuple[int, int, int] | None = None

    def apply(self) -> None:
        gc.collect()
        gc.freeze()
        if self._previous is None:
            self._previous = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)

    def restore(self) -> None:
        if self._previous is not None:
            gc.set_threshold(*self._previous)
            self._previous = None
        gc.unfreeze()
