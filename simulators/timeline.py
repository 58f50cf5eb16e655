"""The simulator's own event-loop lag, filed by time.

Theory of operation
-------------------
An ack latency measured by a process whose loop lags by L includes up to L of
that lag, so the bench reports the load generator's lag next to the latency it
measured: proof that the simulator is not what is slow.  :class:`LoopLagProbe`
runs :class:`ingest.loopwatch.LoopLag` (a callback due every 10 ms, how late it
ran) and files each sample by the time it was taken in a
:class:`~simulators.stats.TimedHistograms`, so that — like the ack latencies — the
caller takes the slices of the window it measured after the run.
"""

from __future__ import annotations

import asyncio

from ingest.loopwatch import LoopLag

from .stats import TimedHistograms

__all__ = ["LoopLagProbe"]


class LoopLagProbe:
    """The loop lag of this process, sampled every ``interval`` seconds."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float = 0.01) -> None:
        self.lag = TimedHistograms()
        self._probe = LoopLag(loop, interval, record=self.lag.add)

    def start(self) -> None:
        self._probe.start()

    def stop(self) -> None:
        self._probe.stop()
