"""Reassembly of split packets (PNUM/PNO groups, [S17] C.49/C.50, [S05] App. C).

A station splits one upload that does not fit 1024 bytes into PNUM frames,
numbered PNO = 1..PNUM, sharing MN, CN and DataTime (their QNs differ in
2017).  Each part is acked on its own (the caller does that with
:func:`protocol.encoders.encode_data_ack`); this class only joins the parts
into one logical upload for consumers that want the whole record.

Bounded: at most ``max_open`` groups are open at once (the oldest is evicted,
incomplete), and a group idle longer than ``timeout`` seconds is given up by
:meth:`Reassembler.expire`.  The clock is the caller's: ``now`` is passed in.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

from ._events import Frame

__all__ = ["GroupKey", "Reassembler", "SplitGroup"]

GroupKey = tuple[str | None, int, str | None, int]


@dataclass(frozen=True, slots=True)
class SplitGroup:
    """The parts of one split upload, in PNO order."""

    key: GroupKey
    parts: tuple[Frame, ...]
    pnum: int
    complete: bool

    @property
    def missing(self) -> tuple[int, ...]:
        have = {p.pno for p in self.parts}
        return tuple(i for i in range(1, self.pnum + 1) if i not in have)

    @property
    def values(self) -> Mapping[str, Mapping[str, str]]:
        """The factor fields of all parts merged (later parts win on a clash)."""
        merged: dict[str, dict[str, str]] = {}
        for part in self.parts:
            for code, fields in part.values.items():
                merged.setdefault(code, {}).update(fields)
        return merged


@dataclass(slots=True)
class _Open:
    pnum: int
    parts: dict[int, Frame] = field(default_factory=dict)
    touched: float = 0.0


class Reassembler:
    """Collects split parts per (MN, CN, DataTime, PNUM)."""

    def __init__(self, *, timeout: float = 120.0, max_open: int = 64) -> None:
        if timeout <= 0 or max_open < 1:
            raise ValueError("timeout must be > 0 and max_open ≥ 1")
        self.timeout = timeout
        self.max_open = max_open
        self._open: OrderedDict[GroupKey, _Open] = OrderedDict()
        self.completed = 0
        self.expired = 0
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._open)

    def add(self, frame: Frame, now: float) -> list[SplitGroup]:
        """Add a part; returns the groups this completes or evicts (usually 0 or 1).
        A frame that is not split is returned at once as a complete group of one."""
        pnum, pno = frame.pnum, frame.pno
        if pnum is None or pno is None or pnum <= 1:
            return [SplitGroup((frame.mn, frame.cn, frame.data_time, 1), (frame,), 1, True)]
        key: GroupKey = (frame.mn, frame.cn, frame.data_time, pnum)
        out: list[SplitGroup] = []
        group = self._open.get(key)
        if group is None:
            if len(self._open) >= self.max_open:
                old_key, old = self._open.popitem(last=False)
                self.evicted += 1
                out.append(self._group(old_key, old, complete=False))
            group = self._open[key] = _Open(pnum)
        else:
            self._open.move_to_end(key)
        if 1 <= pno <= pnum:
            group.parts[pno] = frame  # a retransmitted part replaces its copy
        group.touched = now
        if len(group.parts) == pnum:
            del self._open[key]
            self.completed += 1
            out.append(self._group(key, group, complete=True))
        return out

    def expire(self, now: float) -> list[SplitGroup]:
        """Give up groups idle for longer than ``timeout``; returned incomplete."""
        out = []
        for key in [k for k, g in self._open.items() if now - g.touched > self.timeout]:
            group = self._open.pop(key)
            self.expired += 1
            out.append(self._group(key, group, complete=False))
        return out

    @staticmethod
    def _group(key: GroupKey, group: _Open, *, complete: bool) -> SplitGroup:
        parts = tuple(group.parts[i] for i in sorted(group.parts))
        return SplitGroup(key, parts, group.pnum, complete)
