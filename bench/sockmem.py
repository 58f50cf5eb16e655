"""What connections cost in memory: the processes' (RSS, PSS, USS) and the kernel's.

*Processes*: ``/proc/PID/smaps_rollup`` of each process — RSS counts pages shared with
other processes in full, PSS shares them out, USS (private clean + private dirty) is what
the process alone holds; the ingest workers are spawned (not forked), so little is shared.

*Kernel*: ``/proc/net/sockstat`` ``TCP: mem`` (pages charged to TCP socket buffers, every
socket of the host — both the server's and the simulators' sides), ``/proc/slabinfo``
(the socket structures themselves: ``TCP``, ``sock_inode_cache``, ``filp``, ``dentry``,
``eventpoll_epi`` — one of each per socket, so the same on both sides) and, per side,
the buffer memory ``ss -tm`` reports for each socket (``skmem``: receive + send queue +
forward allocation + options).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "SLAB_CACHES",
    "ProcMemory",
    "SideBuffers",
    "parse_skmem",
    "parse_slabinfo",
    "parse_smaps_rollup",
    "parse_sockstat",
    "process_memory",
    "side_buffers",
    "slab_bytes",
    "sockstat",
]

#: the slab caches a TCP socket held by an epoll-driven process takes one object of each
SLAB_CACHES = ("TCP", "sock_inode_cache", "filp", "dentry", "eventpoll_epi")
_KB = 1024


@dataclass(frozen=True, slots=True)
class ProcMemory:
    rss: int = 0
    pss: int = 0
    uss: int = 0
    processes: int = 0

    def __add__(self, other: ProcMemory) -> ProcMemory:
        return ProcMemory(
            self.rss + other.rss,
            self.pss + other.pss,
            self.uss + other.uss,
            self.processes + other.processes,
        )

    def __sub__(self, other: ProcMemory) -> ProcMemory:
        return ProcMemory(
            self.rss - other.rss,
            self.pss - other.pss,
            self.uss - other.uss,
            self.processes - other.processes,
        )


def parse_smaps_rollup(text: str) -> ProcMemory:
    """``/proc/PID/smaps_rollup`` → bytes resident, proportional and unique."""
    kb: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            kb[key.strip()] = int(fields[0])
    uss = kb.get("Private_Clean", 0) + kb.get("Private_Dirty", 0)
    return ProcMemory(kb.get("Rss", 0) * _KB, kb.get("Pss", 0) * _KB, uss * _KB, 1)


def process_memory(pids: Iterable[int], proc: Path = Path("/proc")) -> ProcMemory:
    """RSS, PSS and USS summed over ``pids`` (processes that are gone count nothing)."""
    total = ProcMemory()
    for pid in pids:
        try:
            total += parse_smaps_rollup((proc / str(pid) / "smaps_rollup").read_text())
        except OSError:
            continue
    return total


def parse_sockstat(text: str) -> dict[str, int]:
    """The ``TCP:`` line of ``/proc/net/sockstat``: inuse, orphan, tw, alloc, mem (pages)."""
    for line in text.splitlines():
        if line.startswith("TCP:"):
            fields = line.split()[1:]
            return {k: int(v) for k, v in zip(fields[::2], fields[1::2], strict=False)}
    return {}


def sockstat(proc: Path = Path("/proc")) -> dict[str, int]:
    try:
        return parse_sockstat((proc / "net" / "sockstat").read_text())
    except OSError:
        return {}


def parse_slabinfo(text: str, caches: Iterable[str] = SLAB_CACHES) -> dict[str, int]:
    """Bytes of the named slab caches (objects × object size) in ``/proc/slabinfo``."""
    wanted = set(caches)
    out: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[0] in wanted and fields[2].isdigit():
            out[fields[0]] = int(fields[2]) * int(fields[3])  # num_objs × objsize
    return out


def slab_bytes(proc: Path = Path("/proc")) -> dict[str, int]:
    """The socket slab caches (empty when ``/proc/slabinfo`` is not readable: not root)."""
    try:
        return parse_slabinfo((proc / "slabinfo").read_text())
    except OSError:
        return {}


_SOCKET = re.compile(r"^\S+\s+\S+\s+(\S+):(\d+)\s+(\S+):(\d+)")
_SKMEM = re.compile(r"skmem:\(([^)]*)\)")


@dataclass(frozen=True, slots=True)
class SideBuffers:
    """Buffer memory of the established sockets of one side of a port."""

    sockets: int = 0
    bytes: int = 0


def parse_skmem(text: str, port: int) -> tuple[SideBuffers, SideBuffers]:
    """``ss -tmnH`` output → (server side: local port ``port``, client side: peer port
    ``port``): sockets and the bytes of r (receive queue) + w (send queue) + f (forward
    allocation) + o (options) of each."""
    server = client = SideBuffers()
    side = 0
    for line in text.splitlines():
        head = _SOCKET.match(line)
        if head is not None:
            side = 1 if int(head.group(2)) == port else 2 if int(head.group(4)) == port else 0
        mem = _SKMEM.search(line)
        if mem is None or side == 0:
            continue
        parts = {m[0]: int(m[1]) for m in re.findall(r"([a-z]+)(\d+)", mem.group(1))}
        used = sum(parts.get(k, 0) for k in ("r", "w", "f", "o"))
        if side == 1:
            server = SideBuffers(server.sockets + 1, server.bytes + used)
        else:
            client = SideBuffers(client.sockets + 1, client.bytes + used)
        side = 0
    return server, client


def side_buffers(port: int) -> tuple[SideBuffers, SideBuffers] | None:
    """Per-side socket buffer memory of the connections to ``port`` (None without ``ss``)."""
    try:
        out = subprocess.run(
            ["ss", "-tmnH", "state", "established"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_skmem(out, port)
