"""Progress display, the final human summary and the machine summary (``--json``).

The progress line (stderr, once a second when stderr is a terminal or
``--progress`` is given) shows connections up, frames sent and acked per
second, retransmissions, failures and errors.  On a terminal it is drawn by
:mod:`store.progress` (rich); otherwise it prints one line per update.  The JSON
schema is documented in :mod:`simulators.result`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from store.progress import Progress

from .result import FleetResult

__all__ = ["ProgressPrinter", "human_summary", "progress_line", "write_json"]


class ProgressPrinter:
    """Turns cumulative snapshots into a rate line, at most once per ``interval``.

    With a ``display`` that is drawn (stderr a terminal: :class:`store.progress.Progress`)
    the line is the status of one task whose bar is the elapsed share of ``duration``
    (a spinner without one); otherwise (``--progress`` on a pipe or file) one line per
    update goes to ``stream``, to be read as a log."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        interval: float = 1.0,
        display: Progress | None = None,
        label: str = "simulate",
        duration: float | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval
        self._task = (
            display.task(label, duration) if display is not None and display.enabled else None
        )
        self._last: dict[str, Any] | None = None
        self._last_at = 0.0

    def __call__(self, snapshot: dict[str, Any]) -> None:
        now = time.monotonic()
        if self._last is not None and now - self._last_at < self.interval * 0.9:
            return
        line = progress_line(snapshot, self._last or {}, self.interval)
        if self._task is not None:
            self._task.update(completed=snapshot.get("t", 0.0), status=line)
        else:
            self.stream.write(line + "\n")
            self.stream.flush()
        self._last = snapshot
        self._last_at = now

    def finish(self) -> None:
        if self._task is not None:
            self._task.finish()


def progress_line(snapshot: dict[str, Any], prev: dict[str, Any], interval: float) -> str:
    """Connections up, frames sent and acked per second since ``prev``, retransmissions,
    failures and errors."""
    dt = snapshot.get("t", 0.0) - prev.get("t", 0.0)
    dt = dt if dt > 0 else interval

    def rate(key: str) -> float:
        return float(snapshot.get(key, 0) - prev.get(key, 0)) / dt

    return (
        f"[{snapshot.get('t', 0.0):7.1f}s]"
        f" up {snapshot.get('up', 0)}/{snapshot.get('stations', 0)}"
        f"  sent {rate('sent'):8.1f}/s ({snapshot.get('sent', 0)})"
        f"  acked {rate('acked'):8.1f}/s ({snapshot.get('acked', 0)})"
        f"  retx {snapshot.get('retransmissions', 0)}"
        f"  failed {snapshot.get('failed', 0)}"
        f"  bad {snapshot.get('bad_sent', 0)}"
        f"  errors {snapshot.get('errors', 0)}"
    )


def human_summary(result: FleetResult) -> str:
    """A few lines for people (the JSON has everything)."""
    data = result.to_json()
    t = data["totals"]
    f = t["frames"]
    c = t["connections"]
    r = t["rates"]
    lat = t["ack_latency"]
    lines = [
        f"envgrid simulate ({data['mode']}): {t['stations']} stations, {data['processes']}"
        f" process(es), {data['duration_s']:.1f} s real, simulated {data['sim_start']}"
        f" → {data['sim_end']} (×{data['time_scale']:g})",
        f"  connections: opened {c['opened']}, lost {c['lost']}, connect failures"
        f" {c['connect_failures']}, peak up {c['peak_up']}" + _all_up(c),
        f"  frames: sent {f['sent']} ({r['frames_sent_per_s']}/s), acked {f['acked']}"
        f" ({r['frames_acked_per_s']}/s), retransmissions {f['retransmissions']},"
        f" failed {f['failed']}, dropped {f['dropped']}, unacked at end {f['unacked_at_end']},"
        f" unsent at end {f['unsent_at_end']}",
        f"  bad frames sent {f['bad_sent']}, replies {f['replies_sent']}, history frames"
        f" {f['history_sent']}, commands received {t['commands']['received']}",
    ]
    if lat["count"]:
        lines.append(
            f"  ack latency: p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms,"
            f" p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms"
        )
    by_cn = ", ".join(f"{cn} {row['sent']}/{row['acked']}" for cn, row in t["by_cn"].items())
    if by_cn:
        lines.append(f"  by CN (sent/acked): {by_cn}")
    errors = t["errors"]
    decode = errors.get("decode") or {}
    extra = {k: v for k, v in errors.items() if k != "decode" and v}
    if decode or extra:
        lines.append(f"  errors: {json.dumps({**extra, **decode})}")
    counts = data["faults"]["counts"]
    if counts:
        lines.append(
            "  faults injected: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        )
    for err in data.get("errors", []):
        lines.append(f"  ! {err.splitlines()[0]}")
    return "\n".join(lines)


def _all_up(connections: dict[str, Any]) -> str:
    after = connections.get("all_connected_after_s")
    return f", all up after {after:.2f} s" if after else ""


def write_json(result: FleetResult, target: str) -> None:
    """``--json FILE`` or ``--json -`` (stdout)."""
    text = json.dumps(result.to_json(), ensure_ascii=False, indent=1)
    if target == "-":
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    else:
        Path(target).write_text(text + "\n", encoding="utf-8")
