"""``SimStation``: one simulated data logger.

Theory of operation
-------------------
A station is callbacks on the event loop, not a coroutine per duty: one timer
for the next schedule instant (:mod:`simulators.schedule`), the
:class:`~simulators.link.Link` for the connection (its run loop is the only
task a station owns, plus one task per history request being answered).

* **Clock.** The station's clock is the virtual clock plus an offset (a
  ``skew`` fault, a 1012 "set time" from the platform).  In *fast* pace the
  station instead walks a private cursor through the schedule as fast as its
  ack window (and ``--rate``) allow — a logger uploading a backlog — so every
  frame still has its own DataTime.
* **Each instant** (:class:`~simulators.schedule.Events`): close the minute /
  hour / day periods that end there (2051 / 2061 / 2031, plus 2041 run times
  at a source), then take a sample: the value model at the physical instant
  (station time − offset), the value faults, rounding; feed it to the open
  period accumulators; send 2011 if real-time upload is on and 2021 on every
  ``status_every``-th sample if status upload is on.
* **Uploads** ask for a 9014 unless ``--no-ack``; each gets a QN (2017
  always; 2005 only when it asks for an ack, the 2005 norm) that is unique
  and increasing per station.  Wire faults decide per upload whether a broken
  copy goes first, the frame is dribbled, split, or followed by a disconnect or
  a power-off.
* **After every connect** the logger sends 2081 with its boot time first
  ([S17] C.24); after a power-off (``offline`` fault) it has rebooted: new boot
  time, open periods lost, schedule restarted from the clock.
* **HJ 212-2025** stations (``edition`` 2025) send Flag 8/9 (10/11 split), a
  9015 heartbeat when they have sent nothing for ``heartbeat`` simulated seconds
  (clock pace only: in fast pace data never pause), ``RF=1`` on history answers
  and on uploads that go out after a reconnect (:mod:`simulators.link`), and with
  ``encrypt`` the CP of data uploads (CN 2000–2999) and 3020 SM4-encrypted with the
  station's key (:mod:`simulators.editions`); encrypted commands are decrypted with
  that key either way.
* **Downlink** commands are answered by the station's
  :class:`~simulators.downlink.Downlink` ([S17] App. C / [S05] App. C); those that
  change the clock or the intervals call :meth:`SimStation.set_clock`,
  :meth:`~SimStation.set_rtd_interval` and :meth:`~SimStation.set_min_interval`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from protocol import (
    Frame,
    encode_upload,
    format_time,
)
from protocol.sm4 import encrypt_frame, parse_key

from . import equipment
from .downlink import Downlink
from .env import StationEnv
from .faults import FaultKind, StationFaults
from .identities import StationIdentity
from .link import Link
from .noise import CounterRandom, seed_of
from .outgoing import Outgoing
from .packets import build_upload, with_backfill
from .periods import Derivations, PeriodAccumulator
from .profiles import profile_for, wire_codes
from .schedule import (
    Events,
    Schedule,
    floor_to_grid,
)
from .stats import StationStats
from .values import NORMAL, ValueModel, format_value

__all__ = ["SimStation"]

_PERIODS: tuple[tuple[Events, int], ...] = (
    (Events.MINUTE, 2051),
    (Events.HOUR, 2061),
    (Events.DAY, 2031),
)
_SOURCE_TYPES = frozenset({"31", "32"})
_CALIBRATION_S = 600.0  # a commanded zero/span calibration flags C for 10 simulated minutes
_HISTORY_SAMPLES = 60  # samples per history period at most (stride beyond that)


def _no_qn() -> str | None:
    return None


class SimStation:
    """One data logger: schedule, values, faults, commands, and its :class:`Link`."""

    __slots__ = (
        "_acc",
        "_cursor",
        "_decimals",
        "_derive",
        "_fast",
        "_fast_now",
        "_granted",
        "_handle",
        "_heartbeat",
        "_last_activity",
        "_last_qn",
        "_made",
        "_offline",
        "_offline_sim",
        "_offline_until",
        "_old_sm4",
        "_tasks",
        "_ticks",
        "_waiting",
        "boot",
        "code_map",
        "codes",
        "downlink",
        "edition",
        "env",
        "faults",
        "generating",
        "identity",
        "link",
        "mn",
        "model",
        "offset",
        "phase",
        "profile",
        "pw",
        "realtime",
        "rng",
        "schedule",
        "sm4",
        "sm4_encrypt",
        "st",
        "stats",
        "status",
    )

    def __init__(self, identity: StationIdentity, env: StationEnv) -> None:
        cfg = env.config
        self.identity = identity
        self.env = env
        self.mn = identity.mn
        self.pw = identity.pw
        self.st = identity.st
        self.edition = identity.edition
        #: HJ 212-2025: the SM4 key, and whether uploads are encrypted with it
        self.sm4 = parse_key(identity.sm4_key) if identity.sm4_key else None
        self.sm4_encrypt = cfg.encrypt and self.sm4 is not None
        self._old_sm4: bytes | None = None  # the key before a 1014 key change
        profile = profile_for(identity.st)
        if cfg.factors:
            wanted = frozenset(cfg.factors)
            profile = dataclasses.replace(
                profile, factors=tuple(f for f in profile.factors if f.code in wanted)
            )
        self.profile = profile
        self.codes = wire_codes(profile, identity.edition)
        mapped = {
            w: f.code for w, f in zip(self.codes, profile.factors, strict=True) if w != f.code
        }
        self.code_map: dict[str, str] | None = mapped or None
        self._decimals = tuple(f.decimals for f in profile.factors)
        self._derive = Derivations(profile)
        self.stats = StationStats()
        self.rng = CounterRandom(seed_of(cfg.seed, "station-run", identity.index))
        self.model = ValueModel(
            profile,
            seed=cfg.seed,
            index=identity.index,
            region=identity.region,
            urban=identity.urban,
            weather=env.weather,
            tz=env.tz,
        )
        self.faults = StationFaults(
            cfg.faults,
            seed=seed_of(cfg.seed, "faults", identity.index),
            mn=identity.mn,
            profile=profile,
            codes=self.codes,
            log=env.fault_log,
        )
        self.schedule = Schedule(cfg.rtd_interval, cfg.min_interval, cfg.hourly, cfg.daily)
        self.realtime = cfg.realtime
        self.status = cfg.status_every > 0
        self.offset = 0.0
        self.phase = self.rng.random() * min(cfg.phase, float(cfg.rtd_interval))
        self.link = Link(
            self,
            cfg.link_settings(identity.index),
            counters=env.counters,
            stats=self.stats,
            rng=self.rng,
            loop=env.loop,
            sm4_keys=None if self.sm4 is None else self._sm4_keys,
        )
        self._fast = cfg.pace == "fast"
        self._fast_now = 0.0
        self._handle: asyncio.Handle | None = None
        self._cursor: tuple[int, Events] = (0, Events.NONE)
        self._acc: dict[Events, PeriodAccumulator | None] = {}
        self._ticks = 0
        self._last_qn = 0
        self._made = 0  # upload frames built (rate accounting in fast pace)
        self._offline = False
        self._offline_until = 0.0
        self._offline_sim = 0.0
        self._waiting = False
        self._granted = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._heartbeat: asyncio.TimerHandle | None = None
        self._last_activity = 0.0
        self.boot = 0.0
        self.generating = False
        self.downlink = Downlink(self)

    # -- clock -----------------------------------------------------------------------
    def now(self) -> float:
        """The station's clock (simulated POSIX seconds)."""
        if self._fast:
            return self._fast_now
        return self.env.clock.now() + self.offset

    def fmt(self, ts: float) -> str:
        return format_time(datetime.fromtimestamp(ts, self.env.tz))

    def _next_qn(self) -> str | None:
        ms = int(self.now() * 1000)
        if ms <= self._last_qn:
            ms = self._last_qn + 1
        self._last_qn = ms
        return format_time(datetime.fromtimestamp(ms // 1000, self.env.tz)) + f"{ms % 1000:03d}"

    # -- life cycle --------------------------------------------------------------------
    def start(self) -> asyncio.Task[None]:
        """Start sampling and connecting; returns the link's task."""
        self.generating = True
        if self._fast:
            self._fast_now = self.env.clock.now()
        if self.env.config.faults:
            self.offset += self.faults.skew(self.env.config.faults, lambda: self.fmt(self.now()))
            if self._fast:
                self._fast_now += self.offset
        self._restart()
        self._last_activity = self.now()
        self._arm_heartbeat()
        return self.env.loop.create_task(self.link.run())

    def _restart(self) -> None:
        """Boot: new boot time, no open periods, schedule from the station clock."""
        self.boot = self.now()
        self._acc = {}
        self._cursor = self.schedule.next_event(self.boot, self.env.tz)
        self._arm()

    def stop_generating(self) -> None:
        """No more scheduled uploads (in-flight history answers finish)."""
        self.generating = False
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None

    @property
    def tasks(self) -> set[asyncio.Task[None]]:
        """History answers in progress."""
        return self._tasks

    def shutdown(self) -> None:
        self.stop_generating()
        for task in list(self._tasks):
            task.cancel()
        self.link.shutdown()

    def _arm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if not self.generating or self._offline:
            return
        loop = self.env.loop
        if self._fast:
            gate = self.env.config.start_at
            wait = 0.0 if gate is None else gate - time.time()
            if wait > 0:
                self._handle = loop.call_later(wait, self._on_tick)
            else:
                self._handle = loop.call_soon(self._on_tick)
            return
        when = self._cursor[0] + self.phase
        delay = (when - self.now()) / self.env.clock.scale
        self._handle = loop.call_later(max(0.0, delay), self._on_tick)

    def _on_grant(self) -> None:
        self._granted = True
        self._on_tick()

    def _on_tick(self) -> None:
        self._handle = None
        if not self.generating or self._offline:
            return
        instant, events = self._cursor
        if self._fast:
            if not self.link.has_room:
                self._waiting = True
                return
            limiter = self.env.limiter
            if limiter is not None and not self._granted and not limiter.take(self._on_grant):
                return
            self._granted = False
            self._fast_now = instant + self.phase
            before = self._made
            self._process(instant, events)
            if limiter is not None:  # a token per frame: charge the extra frames of this instant
                limiter.debit(max(0, self._made - before - 1))
        else:
            self._process(instant, events)
        if not self.generating or self._offline:
            return
        self._cursor = self.schedule.next_event(instant, self.env.tz)
        self._arm()

    # -- LinkOwner -----------------------------------------------------------------------
    def on_connected(self) -> None:
        if self._offline:  # back from a power-off: the logger has rebooted
            self._offline = False
            if self._fast:
                self._fast_now += self._offline_sim
            self._restart()
        if self.generating:
            now = self.now()
            self.upload(2081, now, None, [("RestartTime", self.fmt(self.boot))], front=True)

    def on_command(self, frame: Frame) -> None:
        self.downlink.on_command(frame)

    def on_disconnected(self) -> None:
        return None

    def on_room(self) -> None:
        if self._waiting:
            self._waiting = False
            self._arm()

    def reconnect_delay(self) -> float:
        if self._offline:
            return max(0.0, self._offline_until - self.env.loop.time())
        return 0.0

    def on_sent(self, out: Outgoing) -> None:
        self._last_activity = self.now()
        after = out.after
        if after is None:
            return
        kind, duration = after
        log = self.env.fault_log
        if kind == FaultKind.DISCONNECT:
            log.record(
                FaultKind.DISCONNECT,
                self.mn,
                cn=out.cn,
                qn=out.key,
                time=self.fmt(self.now()),
                at_real_s=self.real_s(),
            )
            self.link.disconnect()
        elif kind == FaultKind.OFFLINE:
            self._go_offline(duration)

    def _go_offline(self, duration: float) -> None:
        now = self.now()
        self.env.fault_log.record(
            FaultKind.OFFLINE,
            self.mn,
            start=self.fmt(now),
            end=self.fmt(now + duration),
            duration_s=duration,
            at_real_s=self.real_s(),
        )
        self._offline = True
        self._offline_sim = duration
        self._offline_until = self.env.loop.time() + self.env.clock.real_span(duration)
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._acc = {}
        self.link.disconnect()

    def real_s(self) -> float:
        return round(self.env.real_elapsed(), 3)

    # -- heartbeat (HJ 212-2025) ---------------------------------------------------------
    def _arm_heartbeat(self) -> None:
        """The next 9015 check: ``heartbeat`` simulated seconds after the last frame sent."""
        every = self.env.config.heartbeat
        if self.edition != "2025" or every <= 0 or self._fast or not self.generating:
            return
        due = self._last_activity + every
        delay = self.env.clock.real_span(max(0.0, due - self.now()))
        self._heartbeat = self.env.loop.call_later(delay, self._on_heartbeat)

    def _on_heartbeat(self) -> None:
        self._heartbeat = None
        if not self.generating:
            return
        now = self.now()
        if now - self._last_activity >= self.env.config.heartbeat - 1e-6:
            qn = self._next_qn()
            frame = encode_upload(
                9015, st=self.st, mn=self.mn, pw=self.pw, edition="2025", qn=qn, ack=True
            )
            self.link.send_heartbeat(frame)  # offline: it tries again a heartbeat later
            self._last_activity = now
        self._arm_heartbeat()

    # -- one instant ---------------------------------------------------------------------
    def _period_length(self, kind: Events) -> int:
        if kind is Events.MINUTE:
            return (self.schedule.min_interval or 10) * 60
        return 3600 if kind is Events.HOUR else 86400

    def _process(self, instant: int, events: Events) -> None:
        for kind, cn in _PERIODS:
            if events & kind:
                acc = self._acc.pop(kind, None)
                if acc is not None and acc.count:
                    self.upload(cn, acc.start, acc.values(self.codes))
                    if kind is Events.DAY and self.st in _SOURCE_TYPES:
                        self.upload(2041, acc.start, None, self.runtime_fields(acc.start))
                if not self.generating:
                    return
        if events & Events.SAMPLE:
            self._sample(instant)

    def measure(
        self, instant: float, dt: float, faults: bool
    ) -> tuple[list[str], list[float], list[str], list[float | None], list[float]]:
        """One sample: texts, values as sent, flags, converted values, Cou shares."""
        raw = self.model.sample(instant - self.offset)
        flags = [NORMAL] * len(raw)
        if faults and self.faults.active:
            self.faults.on_sample(instant, raw, flags, self.fmt, self.env.real_elapsed())
        texts = self.model.texts(raw)
        values = [float(t) for t in texts]
        return texts, values, flags, self._derive.zs(values), self._derive.cou(values, dt)

    def _sample(self, instant: int) -> None:
        schedule = self.schedule
        texts, values, flags, zs, cou = self.measure(instant, schedule.rtd_interval, True)
        enabled = (
            (Events.MINUTE, schedule.min_interval is not None),
            (Events.HOUR, schedule.hourly),
            (Events.DAY, schedule.daily),
        )
        for kind, on in enabled:
            if not on:
                continue
            acc = self._acc.get(kind)
            if acc is None:
                start = floor_to_grid(instant, self._period_length(kind), self.env.tz)
                acc = self._acc[kind] = PeriodAccumulator(self.profile, start)
            acc.add(values, flags, zs, cou)
        self._ticks += 1
        if self.realtime:
            rtd: dict[str, dict[str, str]] = {}
            for i, code in enumerate(self.codes):
                fields = {"Rtd": texts[i]}
                z = zs[i]
                if z is not None:
                    fields["ZsRtd"] = format_value(z, self._decimals[i])
                fields["Flag"] = flags[i]
                rtd[code] = fields
            self.upload(2011, instant, rtd)
            if not self.generating:
                return
        every = self.env.config.status_every
        if self.status and every and self._ticks % every == 0:
            self.upload(2021, instant, None, equipment.status_fields(self.profile, flags))

    def runtime_fields(self, day_start: float) -> list[tuple[str, str | int | float]]:
        """2041: daily run hours of each facility."""
        cfg = self.env.config
        return equipment.runtime_fields(self.profile, cfg.seed, self.identity.index, day_start)

    # -- uploads ---------------------------------------------------------------------
    def upload(
        self,
        cn: int,
        data_time: float,
        values: Mapping[str, Mapping[str, str]] | None,
        fields: Sequence[tuple[str, str | int | float]] = (),
        *,
        history: bool = False,
        front: bool = False,
        wait: bool = False,
    ) -> list[Outgoing]:
        cfg = self.env.config
        if not history and not self.env.budget.take():
            self.stop_generating()
            return []
        ack = cfg.history_ack if history else cfg.ack
        wire = None if history else self.faults.wire()
        is_2025 = self.edition == "2025"
        parts = build_upload(
            cn,
            st=self.st,
            mn=self.mn,
            pw=self.pw,
            edition=self.edition,
            qn=self._next_qn if (ack or self.edition != "2005") else _no_qn,
            data_time=self.fmt(data_time),
            values=values or {},
            fields=fields,
            ack=ack,
            split=wire.split if wire is not None else None,
            backfill=history and is_2025,
        )
        key = self.sm4_key_for(cn)
        outs = []
        for p in parts:
            data = p.data if key is None else encrypt_frame(p.data, key)
            out = Outgoing(
                data, cn, p.qn, ack=ack, codes=p.codes if values else (), history=history
            )
            if is_2025 and not history and cn != 2081:  # RF=1 should it go out after an outage
                out.rebuild = partial(with_backfill, p.data, key)
            outs.append(out)
        self._made += len(outs)
        if wire is not None:
            self.faults.apply_wire(wire, outs, cn, self.fmt(data_time), self.real_s())
        loop = self.env.loop
        for out in reversed(outs) if front else outs:
            if wait:
                out.waiter = loop.create_future()
            self.link.submit(out, front=front)
        return outs

    def _sm4_keys(self, mn: str) -> tuple[bytes, ...]:
        """The keys commands are decrypted with: the current one, then the one it replaced."""
        assert self.sm4 is not None
        return (self.sm4,) if self._old_sm4 is None else (self.sm4, self._old_sm4)

    def set_sm4_key(self, key: bytes) -> None:
        """1014 (HJ 212-2025 key exchange): ``key`` encrypts from now on; commands sent
        with the old one still decrypt (frames already queued keep the old key: the
        platform's grace period for the previous key covers them)."""
        if key != self.sm4:
            self._old_sm4, self.sm4 = self.sm4, key

    def sm4_key_for(self, cn: int) -> bytes | None:
        """The key to encrypt an upload of ``cn`` with (HJ 212-2025 §6.4.1: data, CN
        2000–2999, and 3020), None when it goes plain."""
        if self.sm4_encrypt and (2000 <= cn <= 2999 or cn == 3020):
            return self.sm4
        return None

    # -- settings the platform may change (simulators.downlink) ------------------------
    def set_clock(self, station_ts: float) -> None:
        """1012: the station's clock is set to ``station_ts``; open periods are dropped."""
        delta = station_ts - self.now()
        if self._fast:
            self._fast_now += delta
        else:
            self.offset += delta
        self._acc = {}
        self._reschedule()
        self._last_activity += delta  # the heartbeat keeps its distance to the last frame
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None
            self._arm_heartbeat()

    def set_rtd_interval(self, seconds: int) -> None:
        self.schedule.rtd_interval = seconds
        self._reschedule()

    def set_min_interval(self, minutes: int) -> None:
        """1064: a new minute period (when minute data are on); the open one is dropped."""
        if self.schedule.min_interval is not None:
            self._acc.pop(Events.MINUTE, None)
            self.schedule.min_interval = minutes
            self._reschedule()

    def _reschedule(self) -> None:
        if self.generating and not self._offline:
            self._cursor = self.schedule.next_event(self.now(), self.env.tz)
            self._arm()

    # -- summary -----------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        out = self.identity.to_json()
        out.pop("sm4_key", None)  # a secret: --list-stations gives it, the summary does not
        out.update(self.stats.to_json(self.code_map))
        out["unacked_at_end"] = len(self.link.unacked())
        out["unsent_at_end"] = len(self.link.unsent())
        if self.offset:
            out["clock_offset_s"] = round(self.offset, 3)
        return out
