"""Scale past one process: stations over processes and loopback source addresses.

Theory of operation
-------------------
A process may hold at most its open-file limit of sockets (20,000 here), and
one source address reaches one server port through at most the ephemeral
range (28,232 ports here).  :func:`plan` therefore cuts the run into slices
of at most ``per_process`` stations (default 15,000) — one child process each
— and spreads the stations over source addresses ``127.0.0.1 … 127.0.0.k``
with at most ``per_address`` (25,000) per address.  Station identities,
values and address assignment depend only on the global station index, so a
run's outcome does not depend on how it is cut.

Children are started with ``spawn`` (no inherited event loop or sockets), run
:func:`simulators.fleet.run_fleet` on uvloop when available, and report
through one ``multiprocessing`` queue: a progress snapshot every second and
their :class:`~simulators.result.FleetResult` at the end.  The parent sums the
snapshots for the progress display and merges the results.  All processes
share one virtual clock (the parent's :class:`~simulators.clock.ClockAnchor`)
and split ``--max-frames``, ``--rate`` and ``--connect-rate`` in proportion to
their stations.

Ctrl-C (SIGINT) or SIGTERM makes every process stop generating, drain and
report; a second Ctrl-C in a single-process run aborts at once.  A caller running
the fleet in a thread (the bench) ends it the same way with ``stop``, a
:class:`threading.Event`: the parent sends its children SIGTERM, a single process
stops its own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import multiprocessing
import os
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from .clock import ClockAnchor
from .config import ConfigError, FleetConfig
from .fleet import ProgressCallback, ephemeral_ports, raise_open_files_limit, run_fleet
from .result import FleetResult, merge_results

__all__ = ["loop_factory", "plan", "run", "run_blocking"]

log = logging.getLogger("envgrid.simulators.multi")

_RESERVED_FILES = 64
#: seconds beyond duration + drain a child may take (start-up, shutdown, its report)
_GRACE = 180.0


def _loopback(count: int) -> tuple[str, ...]:
    if count > 254:
        raise ConfigError(f"{count} source addresses needed; at most 254 (127.0.0.1-254)")
    return tuple(f"127.0.0.{i + 1}" for i in range(count))


def _shares(total: float | None, sizes: list[int]) -> list[Any]:
    """Split ``total`` over slices in proportion to ``sizes`` (ints stay ints and add up)."""
    if total is None:
        return [None] * len(sizes)
    n = sum(sizes) or 1
    if isinstance(total, int):
        base = [total * s // n for s in sizes]
        for i in range(total - sum(base)):
            base[i % len(base)] += 1
        return base
    return [total * s / n for s in sizes]


def plan(config: FleetConfig) -> list[FleetConfig]:
    """The child configs of a run (one per process)."""
    n = config.stations
    processes = config.processes or max(1, math.ceil(n / config.per_process))
    processes = max(1, min(processes, n or 1))
    addresses = config.source_addresses
    if not addresses and n > config.per_address:
        addresses = _loopback(math.ceil(n / config.per_address))
    ports = ephemeral_ports()
    if addresses:
        per_address = math.ceil(n / len(addresses))
        if per_address > ports * 0.95:
            raise ConfigError(
                f"{per_address} connections per source address exceed the {ports} ephemeral"
                f" ports; use --source-addresses {math.ceil(n / (ports * 0.9))}"
            )
    elif n > ports * 0.95:
        raise ConfigError(
            f"{n} connections exceed the {ports} ephemeral ports of one source address;"
            f" use --source-addresses {math.ceil(n / (ports * 0.9))}"
        )
    sizes = [n // processes + (1 if i < n % processes else 0) for i in range(processes)]
    _, hard = _file_limits()
    if max(sizes) + _RESERVED_FILES > hard:
        need = math.ceil(n / max(1, hard - _RESERVED_FILES))
        raise ConfigError(
            f"{max(sizes)} stations per process exceed the open-file limit {hard};"
            f" use --processes {need} or more"
        )
    anchor = config.clock_anchor or ClockAnchor.starting_now(config.start_time, config.time_scale)
    frames = _shares(config.max_frames, sizes)
    rates = _shares(config.rate, sizes)
    connect = _shares(config.connect_rate, sizes)
    out = []
    first = config.first_index
    for i, size in enumerate(sizes):
        out.append(
            config.replace(
                stations=size,
                first_index=first,
                run_start=config.first_index,
                total_stations=n,
                processes=1,
                clock_anchor=anchor,
                source_addresses=addresses,
                max_frames=frames[i],
                rate=rates[i],
                connect_rate=max(1.0, connect[i]),
                duration=config.duration,
            )
        )
        first += size
    return out


def _file_limits() -> tuple[int, int]:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    return soft, hard


def loop_factory(use_uvloop: bool = True) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory when wanted and installed, else None (stock asyncio)."""
    if not use_uvloop:
        return None
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


async def _main(
    config: FleetConfig,
    on_progress: ProgressCallback | None,
    handle_signals: bool,
    external: threading.Event | None = None,
) -> FleetResult:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[signal.Signals] = []
    watcher = None if external is None else loop.create_task(_relay(external, stop))

    def first_signal(signum: signal.Signals) -> None:
        log.info("signal %d: stopping, draining outstanding acks", signum)
        stop.set()
        for sig in installed:  # a second Ctrl-C aborts
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)

    if handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, first_signal, sig)
                installed.append(sig)
    try:
        return await run_fleet(config, on_progress=on_progress, stop=stop, freeze_gc=True)
    finally:
        if watcher is not None:
            watcher.cancel()
        for sig in installed:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)


async def _relay(external: threading.Event, stop: asyncio.Event) -> None:
    """Set ``stop`` once another thread sets ``external`` (polled: an Event of another
    thread cannot wake this loop)."""
    while not external.is_set():  # noqa: ASYNC110 - a threading.Event: nothing to await
        await asyncio.sleep(0.1)
    stop.set()


def run_blocking(
    config: FleetConfig,
    on_progress: ProgressCallback | None = None,
    *,
    handle_signals: bool = False,
    stop: threading.Event | None = None,
) -> FleetResult:
    """Run one fleet in this process on a fresh event loop (uvloop when available)."""
    raise_open_files_limit()
    with asyncio.Runner(loop_factory=loop_factory(config.uvloop)) as runner:
        return runner.run(_main(config, on_progress, handle_signals, stop))


def _child(config: FleetConfig, channel: Any, index: int) -> None:
    """Entry point of a child process (spawn)."""

    def report(snapshot: dict[str, Any]) -> None:
        channel.put(("progress", index, snapshot))

    try:
        result = run_blocking(config, report, handle_signals=True)
    except BaseException as exc:  # report every failure to the parent, then exit
        channel.put(("error", index, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
        return
    finally:  # from here on a SIGTERM from the parent must end the process
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    channel.put(("result", index, result))


def _sum_snapshots(snapshots: dict[int, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for snap in snapshots.values():
        for key, value in snap.items():
            if key == "t":
                out[key] = max(out.get(key, 0.0), value)
            else:
                out[key] = out.get(key, 0) + value
    return out


def run(
    config: FleetConfig,
    on_progress: ProgressCallback | None = None,
    *,
    handle_signals: bool = False,
    stop: threading.Event | None = None,
) -> FleetResult:
    """Run a fleet over as many processes as :func:`plan` says (blocking).

    One process runs here, in this process; more are spawned.  ``on_progress``
    gets summed counter snapshots about once a second.  ``stop``: set from another
    thread, the fleet stops generating, drains and reports (as on SIGTERM).
    """
    children = plan(config)
    whole = config.replace(source_addresses=children[0].source_addresses)
    if len(children) == 1:
        result = run_blocking(children[0], on_progress, handle_signals=handle_signals, stop=stop)
        return merge_results([result], config=whole.to_json())
    ctx = multiprocessing.get_context("spawn")
    channel = ctx.Queue()
    procs = [
        ctx.Process(target=_child, args=(child, channel, i), name=f"envgrid-sim-{i}", daemon=True)
        for i, child in enumerate(children)
    ]
    for proc in procs:
        proc.start()
    results: dict[int, FleetResult] = {}
    errors: dict[int, str] = {}
    latest: dict[int, dict[str, Any]] = {}
    bound = (config.duration or 0.0) + config.drain + _GRACE
    deadline = time.monotonic() + (bound if config.duration is not None else math.inf)
    interrupted = False
    stopping = False
    try:
        while len(results) + len(errors) < len(procs):
            if stop is not None and stop.is_set() and not stopping:
                stopping = True
                _signal_all(procs, signal.SIGTERM)
                deadline = min(deadline, time.monotonic() + config.drain + _GRACE)
            try:
                kind, index, payload = channel.get(timeout=0.2)
            except queue.Empty:
                for i, proc in enumerate(procs):
                    if i not in results and i not in errors and proc.exitcode is not None:
                        with contextlib.suppress(queue.Empty):  # its last words may be queued
                            kind, index, payload = channel.get(timeout=1.0)
                            _accept(kind, index, payload, results, errors, latest)
                            continue
                        errors[i] = f"simulator process {i} exited with code {proc.exitcode}"
                if time.monotonic() > deadline:
                    for i in range(len(procs)):
                        if i not in results and i not in errors:
                            errors[i] = f"simulator process {i} did not report in time"
                    break
                continue
            _accept(kind, index, payload, results, errors, latest)
            if kind == "progress" and on_progress is not None:
                on_progress(_sum_snapshots(latest))
    except KeyboardInterrupt:
        interrupted = True
        _signal_all(procs, signal.SIGINT)
        end = time.monotonic() + config.drain + 15.0
        while len(results) + len(errors) < len(procs) and time.monotonic() < end:
            with contextlib.suppress(queue.Empty):
                kind, index, payload = channel.get(timeout=0.2)
                _accept(kind, index, payload, results, errors, latest)
    finally:
        for proc in procs:
            proc.join(timeout=10.0)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5.0)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5.0)
        channel.close()
        channel.cancel_join_thread()
    if not results:
        raise RuntimeError("no simulator process finished: " + "; ".join(errors.values()))
    merged = merge_results([results[i] for i in sorted(results)], config=whole.to_json())
    merged.errors.extend(errors[i] for i in sorted(errors))
    if interrupted:
        merged.errors.append("interrupted")
    return merged


def _signal_all(procs: list[Any], signum: signal.Signals) -> None:
    for proc in procs:
        if proc.is_alive() and proc.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signum)


def _accept(
    kind: str,
    index: int,
    payload: Any,
    results: dict[int, FleetResult],
    errors: dict[int, str],
    latest: dict[int, dict[str, Any]],
) -> None:
    if kind == "progress":
        latest[index] = payload
    elif kind == "result":
        results[index] = payload
    else:
        errors[index] = str(payload)
