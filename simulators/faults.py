"""Fault injection: the ``--faults`` grammar, per-station fault state, ground truth.

Grammar (also printed by ``envgrid simulate --help``)::

    SPEC  := ITEM ("," ITEM)*
    ITEM  := KIND ":" PROB [":" PARAM]
    PROB  := probability in [0, 1]
    PARAM := number with an optional unit s, m, h (seconds by default)

Kinds, what PROB is per, and PARAM (default):

==========  ==========================  =============================================
kind        probability per             effect / PARAM
==========  ==========================  =============================================
disconnect  upload frame                drop the TCP connection right after the frame;
                                        reconnect with back-off, resend what is unacked
offline     upload frame                power off: close, stay silent PARAM simulated s
                                        (1200), then boot (2081) and reconnect
stuck       sample (station tick)       one factor repeats one value for PARAM sim s (3600)
exceed      sample                      one factor with a limit at 1.3–2.5 × its limit for
                                        PARAM sim s (1800)
jump        sample                      one concentration ×3–6 for PARAM sim s (0: a
                                        single sample)
maint       sample                      one factor flagged M, C or D for PARAM sim s (1800)
badcrc      upload frame                a copy of the frame with a wrong CRC goes first
truncate    upload frame                a copy cut short (no CRC/CRLF) goes first
oversize    upload frame                a copy padded past LLLL 1024 (no ack asked) goes first
slow        upload frame                the frame is dribbled byte by byte over PARAM
                                        real s (3)
skew        station (once, at start)    the station clock is off by ±PARAM s (600)
split       upload frame                the frame is sent as PARAM (2) PNUM/PNO parts
==========  ==========================  =============================================

The corrupted copies (badcrc, truncate, oversize) are extra frames: the real
frame still follows, so data accounting stays exact; they are counted as
"bad sent".  Value faults change what the station reports (and therefore its
period data).  Every fault that happens is written to the ground-truth log
(:class:`FaultLog`) with the station, factor and the station-clock times it
covers, so alert tests can check what should have been detected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from .noise import CounterRandom
from .packets import corrupt_crc, oversize, truncate
from .profiles import StationProfile

if TYPE_CHECKING:
    from .outgoing import Outgoing

__all__ = [
    "FAULT_GRAMMAR",
    "FaultKind",
    "FaultLog",
    "FaultSpec",
    "StationFaults",
    "WireFaults",
    "parse_faults",
]


class FaultKind(StrEnum):
    DISCONNECT = "disconnect"
    OFFLINE = "offline"
    STUCK = "stuck"
    EXCEED = "exceed"
    JUMP = "jump"
    MAINT = "maint"
    BADCRC = "badcrc"
    TRUNCATE = "truncate"
    OVERSIZE = "oversize"
    SLOW = "slow"
    SKEW = "skew"
    SPLIT = "split"


#: kind → default PARAM (None: the kind takes no parameter)
DEFAULT_PARAM: Final[dict[FaultKind, float | None]] = {
    FaultKind.DISCONNECT: None,
    FaultKind.OFFLINE: 1200.0,
    FaultKind.STUCK: 3600.0,
    FaultKind.EXCEED: 1800.0,
    FaultKind.JUMP: 0.0,
    FaultKind.MAINT: 1800.0,
    FaultKind.BADCRC: None,
    FaultKind.TRUNCATE: None,
    FaultKind.OVERSIZE: None,
    FaultKind.SLOW: 3.0,
    FaultKind.SKEW: 600.0,
    FaultKind.SPLIT: 2.0,
}

_VALUE_KINDS: Final = (FaultKind.STUCK, FaultKind.EXCEED, FaultKind.JUMP, FaultKind.MAINT)
_PRELUDE_KINDS: Final = (FaultKind.BADCRC, FaultKind.TRUNCATE, FaultKind.OVERSIZE)

FAULT_GRAMMAR: Final = """\
fault grammar: --faults KIND:PROB[:PARAM][,KIND:PROB[:PARAM]...]
  PROB is a probability in [0,1]; PARAM a number with optional unit s/m/h.
  disconnect:P        per upload frame: drop the connection after the frame, reconnect
  offline:P[:DUR]     per upload frame: power off for DUR simulated time (20m), then boot
  stuck:P[:DUR]       per sample: one factor repeats one value for DUR (1h)
  exceed:P[:DUR]      per sample: one factor at 1.3-2.5 x its limit for DUR (30m)
  jump:P[:DUR]        per sample: one concentration x3-6 for DUR (0 = one sample)
  maint:P[:DUR]       per sample: one factor flagged M, C or D for DUR (30m)
  badcrc:P            per upload frame: send a copy with a wrong CRC first
  truncate:P          per upload frame: send a copy cut short first
  oversize:P          per upload frame: send a copy padded past LLLL 1024 first
  slow:P[:SECS]       per upload frame: dribble it byte by byte over SECS real seconds (3)
  skew:P[:SECS]       per station: clock off by +/-SECS (600)
  split:P[:PARTS]     per upload frame: send it as PARTS PNUM/PNO packets (2)
  example: --faults disconnect:0.01,offline:0.001:20m,stuck:0.01,badcrc:0.001,skew:0.05:600"""

_NUMBER = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([smh]?)\s*$")
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One ``KIND:PROB[:PARAM]`` item."""

    kind: FaultKind
    probability: float
    param: float | None = None

    @property
    def value(self) -> float:
        """PARAM, or the kind's default."""
        if self.param is not None:
            return self.param
        default = DEFAULT_PARAM[self.kind]
        return 0.0 if default is None else default

    def __str__(self) -> str:
        text = f"{self.kind.value}:{self.probability:g}"
        return text if self.param is None else f"{text}:{self.param:g}"


def _number(text: str, what: str) -> float:
    m = _NUMBER.match(text)
    if m is None:
        raise ValueError(f"{what}: {text!r} is not a number (with optional unit s, m or h)")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_faults(text: str | None) -> tuple[FaultSpec, ...]:
    """``"disconnect:0.01,offline:0.001:20m"`` → specs (see :data:`FAULT_GRAMMAR`)."""
    if text is None or not text.strip():
        return ()
    specs: dict[FaultKind, FaultSpec] = {}
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        parts = item.split(":")
        if len(parts) not in (2, 3):
            raise ValueError(f"fault {item!r}: expected KIND:PROB[:PARAM], e.g. 'stuck:0.01:30m'")
        name = parts[0].strip().lower()
        try:
            kind = FaultKind(name)
        except ValueError:
            raise ValueError(
                f"fault {item!r}: unknown kind {name!r}; kinds: "
                + ", ".join(k.value for k in FaultKind)
            ) from None
        if parts[1].strip().endswith(tuple("smh")):
            raise ValueError(f"fault {item!r}: PROB must be a plain probability in [0, 1]")
        probability = _number(parts[1], f"fault {item!r} PROB")
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"fault {item!r}: PROB must be in [0, 1], got {probability:g}")
        param: float | None = None
        if len(parts) == 3:
            if DEFAULT_PARAM[kind] is None:
                raise ValueError(f"fault {item!r}: {kind.value} takes no PARAM")
            param = _number(parts[2], f"fault {item!r} PARAM")
            if kind is FaultKind.SPLIT and (param < 2 or param != int(param)):
                raise ValueError(f"fault {item!r}: split PARAM is a number of parts ≥ 2")
            if kind is FaultKind.SLOW and param <= 0:
                raise ValueError(f"fault {item!r}: slow PARAM must be > 0 seconds")
        if kind in specs:
            raise ValueError(f"fault kind {kind.value!r} given twice")
        specs[kind] = FaultSpec(kind, probability, param)
    return tuple(specs.values())


class FaultLog:
    """Ground truth of the faults that happened in one process (bounded)."""

    __slots__ = ("counts", "events", "limit", "truncated")

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self.events: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}
        self.truncated = False

    def record(self, kind: FaultKind, mn: str, **fields: Any) -> None:
        self.counts[kind.value] = self.counts.get(kind.value, 0) + 1
        if len(self.events) >= self.limit:
            self.truncated = True
            return
        event: dict[str, Any] = {"kind": kind.value, "mn": mn}
        event.update(fields)
        self.events.append(event)


@dataclass(slots=True)
class WireFaults:
    """What happens to one upload on the wire."""

    prelude: FaultKind | None = None  # badcrc / truncate / oversize copy sent first
    slow: float | None = None  # dribble over this many real seconds
    split: int | None = None  # number of PNUM/PNO parts
    after: FaultKind | None = None  # disconnect / offline after the frame
    offline_for: float = 0.0  # simulated seconds (offline)


class _Episode:
    __slots__ = ("end", "factor", "kind", "value")

    def __init__(self, kind: FaultKind, factor: int, end: float, value: float | str) -> None:
        self.kind = kind
        self.factor = factor
        self.end = end
        self.value = value


class StationFaults:
    """The fault state of one station: decides, applies and logs its faults."""

    __slots__ = (
        "_episodes",
        "_profile",
        "_rng",
        "_value_specs",
        "_wire_specs",
        "codes",
        "log",
        "mn",
    )

    def __init__(
        self,
        specs: Sequence[FaultSpec],
        *,
        seed: int,
        mn: str,
        profile: StationProfile,
        codes: Sequence[str],
        log: FaultLog,
    ) -> None:
        self._rng = CounterRandom(seed)
        self._profile = profile
        self.codes = tuple(codes)
        self.mn = mn
        self.log = log
        self._value_specs = tuple(s for s in specs if s.kind in _VALUE_KINDS and s.probability > 0)
        self._wire_specs = tuple(
            s
            for s in specs
            if s.kind not in _VALUE_KINDS and s.kind is not FaultKind.SKEW and s.probability > 0
        )
        self._episodes: list[_Episode] = []

    # -- per station ---------------------------------------------------------------------
    def skew(self, specs: Sequence[FaultSpec], at: Callable[[], str]) -> float:
        """Clock offset (s) chosen once at start (0 when no skew fault fires)."""
        for spec in specs:
            if spec.kind is FaultKind.SKEW and self._rng.random() < spec.probability:
                offset = spec.value * (1 if self._rng.random() < 0.5 else -1)
                self.log.record(FaultKind.SKEW, self.mn, offset_s=offset, start=at())
                return offset
        return 0.0

    # -- per sample ----------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return bool(self._value_specs or self._episodes)

    def on_sample(
        self,
        ts: float,
        values: list[float],
        flags: list[str],
        fmt: Callable[[float], str],
        real_s: float,
    ) -> None:
        """Start new episodes, apply the running ones to ``values``/``flags`` (in place)."""
        rng = self._rng
        for spec in self._value_specs:
            if rng.random() < spec.probability:
                self._start(spec, ts, values, fmt, real_s)
        if not self._episodes:
            return
        keep: list[_Episode] = []
        factors = self._profile.factors
        for ep in self._episodes:
            if ts > ep.end:
                continue
            i = ep.factor
            if ep.kind is FaultKind.STUCK:
                values[i] = float(ep.value)
            elif ep.kind is FaultKind.EXCEED:
                limit = factors[i].limit or 0.0
                values[i] = limit * float(ep.value) * (1.0 + 0.03 * rng.gauss())
            elif ep.kind is FaultKind.JUMP:
                values[i] = values[i] * float(ep.value)
            elif ep.kind is FaultKind.MAINT:
                flags[i] = str(ep.value)
            f = factors[i]
            values[i] = min(f.high, max(f.low, values[i]))
            if ts < ep.end:
                keep.append(ep)
        self._episodes = keep

    def _start(
        self,
        spec: FaultSpec,
        ts: float,
        values: list[float],
        fmt: Callable[[float], str],
        real_s: float,
    ) -> None:
        rng = self._rng
        factors = self._profile.factors
        kind = spec.kind
        if kind is FaultKind.EXCEED:
            eligible = [i for i, f in enumerate(factors) if f.limit is not None]
        elif kind is FaultKind.JUMP:
            eligible = [i for i, f in enumerate(factors) if not f.additive]
        else:
            eligible = list(range(len(factors)))
        busy = {ep.factor for ep in self._episodes if ep.kind is kind}
        eligible = [i for i in eligible if i not in busy]
        if not eligible:
            return
        i = rng.choice(eligible)
        end = ts + spec.value
        value: float | str
        extra: dict[str, Any] = {}
        if kind is FaultKind.STUCK:
            value = values[i]
        elif kind is FaultKind.EXCEED:
            value = rng.uniform(1.3, 2.5)
            extra["limit"] = factors[i].limit
        elif kind is FaultKind.JUMP:
            value = rng.uniform(3.0, 6.0)
        else:
            value = rng.choice(("M", "C", "D"))
        self._episodes.append(_Episode(kind, i, end, value))
        self.log.record(
            kind,
            self.mn,
            factor=factors[i].code,
            wire_code=self.codes[i],
            start=fmt(ts),
            end=fmt(end),
            **({"flag": value} if kind is FaultKind.MAINT else {"value": value}),
            at_real_s=round(real_s, 3),
            **extra,
        )

    def calibrate(
        self,
        code: str | None,
        ts: float,
        duration: float,
        fmt: Callable[[float], str],
        real_s: float,
    ) -> None:
        """A commanded zero/span calibration (3011): flag C on the factor for ``duration``."""
        factors = self._profile.factors
        targets = [i for i, f in enumerate(factors) if code in (None, f.code, self.codes[i])]
        for i in targets[:1] if code is None else targets:
            self._episodes.append(_Episode(FaultKind.MAINT, i, ts + duration, "C"))
            self.log.record(
                FaultKind.MAINT,
                self.mn,
                factor=factors[i].code,
                wire_code=self.codes[i],
                start=fmt(ts),
                end=fmt(ts + duration),
                flag="C",
                cause="3011",
                at_real_s=round(real_s, 3),
            )

    # -- per upload ----------------------------------------------------------------------
    def wire(self) -> WireFaults | None:
        """Draw the wire faults of one upload (None: a clean frame)."""
        if not self._wire_specs:
            return None
        rng = self._rng
        out: WireFaults | None = None
        for spec in self._wire_specs:
            if rng.random() >= spec.probability:
                continue
            if out is None:
                out = WireFaults()
            kind = spec.kind
            if kind in _PRELUDE_KINDS:
                if out.prelude is None:
                    out.prelude = kind
            elif kind is FaultKind.SLOW:
                out.slow = spec.value
            elif kind is FaultKind.SPLIT:
                out.split = int(spec.value)
            elif kind is FaultKind.OFFLINE:
                out.after = FaultKind.OFFLINE
                out.offline_for = spec.value
            elif kind is FaultKind.DISCONNECT and out.after is None:
                out.after = FaultKind.DISCONNECT
        return out

    def uniform(self) -> float:
        """A draw from the station's fault stream (for jitter the faults decide)."""
        return self._rng.random()

    def apply_wire(
        self, wire: WireFaults, outs: Sequence[Outgoing], cn: int, data_time: str, at_real_s: float
    ) -> None:
        """Put ``wire``'s faults on the frames of one upload, and log them."""
        first = outs[0]
        common = {"cn": cn, "qn": first.key, "data_time": data_time, "at_real_s": at_real_s}
        if wire.prelude is not None:
            if wire.prelude is FaultKind.BADCRC:
                first.prelude = corrupt_crc(first.data)
            elif wire.prelude is FaultKind.TRUNCATE:
                first.prelude = truncate(first.data, self.uniform())
            else:
                first.prelude = oversize(first.data)
            self.log.record(wire.prelude, self.mn, **common)
        if wire.slow:
            first.slow = wire.slow
            self.log.record(FaultKind.SLOW, self.mn, seconds=wire.slow, **common)
        if wire.split and len(outs) > 1:
            self.log.record(FaultKind.SPLIT, self.mn, parts=len(outs), **common)
        if wire.after is not None:
            outs[-1].after = (wire.after.value, wire.offline_for)
