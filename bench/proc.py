"""Process and machine facts for the benchmarks, read from /proc (Linux).

A benchmark figure is only as good as its context: every result carries the
machine (cores, memory, kernel) and the versions, and the server's and the
database's CPU and memory are measured from ``/proc`` while it runs.  The storage
engine is not a machine fact: each scenario reads it from the database it measured
(:mod:`bench.engines`).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "ProcSample",
    "children",
    "cores_between",
    "cpu_by_pid",
    "machine_busy",
    "machine_info",
    "sample",
    "tree_pids",
]

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True, slots=True)
class ProcSample:
    """CPU seconds (user + system) and resident memory of a set of processes."""

    cpu_s: float
    rss_bytes: int
    processes: int


def _stat(pid: int) -> tuple[float, int] | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # after the command: state(0) ppid(1) … utime(11) stime(12) … rss(21)
    return (int(fields[11]) + int(fields[12])) / _TICK, int(fields[21]) * _PAGE


def process_name(pid: int) -> str:
    """The kernel's name of ``pid`` (``/proc/PID/comm``), "" if it is gone."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def machine_busy() -> tuple[float, float]:
    """(busy seconds, total seconds) of all CPUs since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return (total - idle) / _TICK, total / _TICK


def children(pid: int) -> list[int]:
    """Direct children of ``pid``."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def tree_pids(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    out = [pid]
    for child in children(pid):
        out += tree_pids(child)
    return out


def sample(pids: Iterable[int]) -> ProcSample:
    cpu = 0.0
    rss = 0
    n = 0
    for pid in pids:
        stat = _stat(pid)
        if stat is None:
            continue
        cpu += stat[0]
        rss += stat[1]
        n += 1
    return ProcSample(cpu, rss, n)


def cpu_by_pid(pids: Iterable[int]) -> dict[int, float]:
    """CPU seconds (user + system) of each of ``pids`` that is still alive."""
    out: dict[int, float] = {}
    for pid in pids:
        stat = _stat(pid)
        if stat is not None:
            out[pid] = stat[0]
    return out


def cores_between(before: Mapping[int, float], after: Mapping[int, float], span: float) -> float:
    """Cores used between two per-process samples (:func:`cpu_by_pid`): a process that is
    new counts whole, one that ended meanwhile is left out — a sum over whatever processes
    exist at each sample under-counts (or goes negative) when a database backend exits."""
    used = sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
    return round(max(0.0, used) / max(span, 1e-9), 3)


def postgres_pids(data_dir: Path | None = None) -> list[int]:
    """Every postgres process (of one cluster when its data directory is given)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not cmd or not cmd[0].endswith(b"postgres"):
            continue
        out.append(int(entry.name))
    if data_dir is None:
        return out
    # the postmaster's children inherit nothing useful to filter on; keep the tree of the
    # postmaster whose -D argument matches
    for pid in out:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"-D" in cmd and str(data_dir) in cmd[cmd.index(b"-D") + 1].decode(errors="replace"):
            return tree_pids(pid)
    return out


def machine_info() -> dict[str, Any]:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for dist in ("envgrid", "asyncpg", "uvloop", "aiohttp", "numpy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    pg = subprocess.run(
        ["bash", "-c", "ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    pg_version = ""
    if pg:
        pg_version = subprocess.run(
            [f"{pg}/postgres", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu_model or platform.machine(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        # what is installed, not what was measured: each scenario carries the engine
        # of the live database it ran on ("engine", bench.engines)
        "postgresql_installed": pg_version,
        "open_files_limit": _nofile(),
        "versions": versions,
    }


def _nofile() -> int:
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]
