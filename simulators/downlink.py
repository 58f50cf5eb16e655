"""A station's answers to the platform's downlink commands.

Commands are answered as [S17] App. C / [S05] App. C describe (table
:data:`_HANDLERS`): 9011 ``QnRtn`` (3 for a wrong PW, 4 for a wrong MN, 8 for an
unknown CN — 2005 knows only 1/2/3), the parameter or the history data with the
request's CN, then 9012 ``ExeRtn``; 2012/2022 are notifications answered with 9013.
History data are computed from the value model for the requested periods (complete
periods only, at most ``history_limit``), sent one at a time, each asking for its 9014
as in [S17] C.48 (``--no-history-ack``: C.47), then 9012 (``ExeRtn=100`` when there
is no data).  HJ 212-2025 stations mark history data ``RF=1`` and take a new SM4 key from
1014 (``SKCreateTime=…,NewSK=…``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from protocol import (
    Frame,
    encode_execution_result,
    encode_reply,
    encode_request_answer,
    encode_upload,
    parse_time,
)
from protocol.commands import COMMANDS, Flow
from protocol.sm4 import parse_key

from .noise import seed_of
from .periods import PeriodAccumulator
from .schedule import period_starts, validate_min_interval, validate_rtd_interval

if TYPE_CHECKING:
    from .station import SimStation

__all__ = ["Downlink"]

_CALIBRATION_S = 600.0  # a commanded zero/span calibration flags C for 10 simulated minutes
_HISTORY_SAMPLES = 60  # samples per history period at most (stride beyond that)


class Downlink:
    """The command side of one :class:`~simulators.station.SimStation`."""

    __slots__ = ("station",)

    def __init__(self, station: SimStation) -> None:
        self.station = station

    def on_command(self, frame: Frame) -> None:
        if frame.mn is not None and frame.mn != self.station.mn:
            self._answer(frame, 2 if self.station.edition == "2005" else 4)
            return
        if frame.pw is not None and frame.pw != self.station.pw:
            self._answer(frame, 3)
            return
        handler = _HANDLERS.get(frame.cn)
        if handler is not None:
            handler(self, frame)
            return
        info = COMMANDS.get(frame.cn)
        if info is None:
            self._answer(frame, 2 if self.station.edition == "2005" else 8)
        elif info.flow is Flow.NOTIFY:
            self._notify_ack(frame)
        else:  # a request the logger carries out without data to return
            self._answer(frame, 1)
            self._result(frame, 1)

    def _answer(self, frame: Frame, qn_rtn: int) -> None:
        self.station.link.send_now(encode_request_answer(**self._to(frame), qn_rtn=qn_rtn))

    def _result(self, frame: Frame, exe_rtn: int) -> None:
        if self.station.edition == "2005" and exe_rtn not in (1, 2, 100):
            exe_rtn = 2  # 2005 defines only 1, 2 and 100
        self.station.link.send_now(encode_execution_result(**self._to(frame), exe_rtn=exe_rtn))

    def _notify_ack(self, frame: Frame) -> None:
        self.station.link.send_now(encode_reply(9013, **self._to(frame), cp=()))

    def _to(self, frame: Frame) -> dict[str, Any]:
        """What every answer to ``frame`` carries: its QN, the station's MN, PW, edition."""
        s = self.station
        return {"qn": frame.effective_qn, "mn": s.mn, "pw": s.pw, "edition": s.edition}

    def _respond(self, frame: Frame, fields: Sequence[tuple[str, str | int | float]]) -> None:
        """A parameter answer with the request's CN and QN (2017: Flag=4, 2025: Flag=8 and
        3020 encrypted with ``--encrypt``; 2005: QN in CP)."""
        qn = frame.effective_qn
        if self.station.edition == "2005":
            items = [("QN", qn), *fields] if qn else list(fields)
            data = encode_upload(
                frame.cn,
                st=self.station.st,
                mn=self.station.mn,
                pw=self.station.pw,
                edition="2005",
                fields=items,
                ack=False,
            )
        else:
            data = encode_upload(
                frame.cn,
                st=self.station.st,
                mn=self.station.mn,
                pw=self.station.pw,
                edition=self.station.edition,
                qn=qn,
                fields=fields,
                ack=False,
                sm4_key=self.station.sm4_key_for(frame.cn),  # 3020 encrypted (HJ 212-2025)
            )
        self.station.link.send_now(data)

    def _simple(self, frame: Frame, action: Callable[[], int]) -> None:
        """9011, do it, 9012 with what ``action`` returns."""
        self._answer(frame, 1)
        self._result(frame, action())

    def _get(self, frame: Frame, fields: Sequence[tuple[str, str | int | float]]) -> None:
        self._answer(frame, 1)
        self._respond(frame, fields)
        self._result(frame, 1)

    def _pol_id(self, frame: Frame) -> list[tuple[str, str | int | float]]:
        pol = frame.fields.get("PolId")
        return [("PolId", pol)] if pol else []

    # 1000 set timeout and retries
    def _cmd_timeout_retry(self, frame: Frame) -> None:
        def apply() -> int:
            over = frame.fields.get("OverTime")
            count = frame.fields.get("ReCount")
            try:
                if over is not None:
                    value = float(over)
                    if value <= 0:
                        return 3
                    self.station.link.ack_timeout = value
                if count is not None:
                    self.station.link.retries = max(0, int(count))
            except ValueError:
                return 3
            return 1

        self._simple(frame, apply)

    def _cmd_get_time(self, frame: Frame) -> None:
        self._get(
            frame, [*self._pol_id(frame), ("SystemTime", self.station.fmt(self.station.now()))]
        )

    def _cmd_set_time(self, frame: Frame) -> None:
        def apply() -> int:
            moment = parse_time(frame.fields.get("SystemTime"))
            if moment is None:
                return 3
            self.station.set_clock(moment.replace(tzinfo=self.station.env.tz).timestamp())
            return 1

        self._simple(frame, apply)

    def _cmd_get_rtd(self, frame: Frame) -> None:
        self._get(frame, [("RtdInterval", self.station.schedule.rtd_interval)])

    def _cmd_set_rtd(self, frame: Frame) -> None:
        self._set_interval(
            frame, "RtdInterval", validate_rtd_interval, self.station.set_rtd_interval
        )

    def _cmd_get_min(self, frame: Frame) -> None:
        self._get(frame, [("MinInterval", self.station.schedule.min_interval or 10)])

    def _cmd_set_min(self, frame: Frame) -> None:
        self._set_interval(
            frame, "MinInterval", validate_min_interval, self.station.set_min_interval
        )

    def _set_interval(
        self,
        frame: Frame,
        field: str,
        validate: Callable[[int], object],
        apply: Callable[[int], None],
    ) -> None:
        """1062/1064: ``field`` is a whole number ``validate`` accepts (ExeRtn 3 if not)."""

        def set_it() -> int:
            try:
                value = int(frame.fields.get(field, ""))
                validate(value)
            except ValueError:
                return 3
            apply(value)
            return 1

        self._simple(frame, set_it)

    def _cmd_set_password(self, frame: Frame) -> None:
        new = frame.fields.get("NewPW") or frame.fields.get("PW")
        if not new or any(c in new for c in ";,=&"):
            self._simple(frame, lambda: 3)
            return
        self._answer(frame, 1)
        self._result(frame, 1)
        self.station.pw = new  # answers went out with the old password

    def _cmd_key_exchange(self, frame: Frame) -> None:
        """1014 (HJ 212-2025): ``SKCreateTime=…,NewSK=…`` — 9011, 9012, then the new SM4
        key is the station's (ExeRtn 3 when NewSK is not a key, or the station has none)."""
        try:
            key = parse_key(frame.fields.get("NewSK", ""))
        except ValueError:
            key = None
        if key is None or self.station.sm4 is None:
            self._simple(frame, lambda: 3)
            return
        self._answer(frame, 1)
        self._result(frame, 1)
        self.station.set_sm4_key(key)  # the answers went out before the switch

    def _switch(self, frame: Frame, upload: Literal["realtime", "status"], on: bool) -> None:
        """2011/2021 start an upload (9011, then 9012); 2012/2022 stop it (9013)."""
        if not on:
            self._notify_ack(frame)
            setattr(self.station, upload, False)
            return

        def apply() -> int:
            setattr(self.station, upload, True)
            return 1

        self._simple(frame, apply)

    def _cmd_calibrate(self, frame: Frame) -> None:
        def apply() -> int:
            self.station.faults.calibrate(
                frame.fields.get("PolId"),
                self.station.now(),
                _CALIBRATION_S,
                self.station.fmt,
                self.station.real_s(),
            )
            return 1

        self._simple(frame, apply)

    def _cmd_sampling_period(self, frame: Frame) -> None:
        self._get(frame, [*self._pol_id(frame), ("CstartTime", "000000"), ("Ctime", 2)])

    def _cmd_sample_time(self, frame: Frame) -> None:
        self._get(frame, [*self._pol_id(frame), ("Stime", 40)])

    def _cmd_instrument_sn(self, frame: Frame) -> None:
        pol = frame.fields.get("PolId") or self.station.codes[0]
        serial = f"{seed_of(self.station.mn, pol) & ((1 << 96) - 1):024X}"
        self._get(frame, [("PolId", pol), (f"{pol}-SN", serial)])

    def _cmd_field_info(self, frame: Frame) -> None:
        info = frame.fields.get("InfoId") or "i12001"
        if info.startswith("i11"):
            value: str | int = "//仪器运行正常//"
        elif info.startswith("i13"):
            value = 168
        else:
            value = 0
        fields: list[tuple[str, str | int | float]] = [
            ("DataTime", self.station.fmt(self.station.now()))
        ]
        self._get(frame, [*fields, *self._pol_id(frame), (f"{info}-Info", value)])

    def _cmd_history(self, frame: Frame) -> None:
        begin = parse_time(frame.fields.get("BeginTime"))
        end = parse_time(frame.fields.get("EndTime"))
        self._answer(frame, 1)
        if begin is None or end is None or end < begin:
            self._result(frame, 3)
            return
        tz = self.station.env.tz
        task = self.station.env.loop.create_task(
            self._history(
                frame, begin.replace(tzinfo=tz).timestamp(), end.replace(tzinfo=tz).timestamp()
            )
        )
        self.station.tasks.add(task)
        task.add_done_callback(self.station.tasks.discard)

    async def _history(self, frame: Frame, begin: float, end: float) -> None:
        cn = frame.cn
        length = (
            (self.station.schedule.min_interval or 10) * 60
            if cn == 2051
            else (3600 if cn == 2061 else 86400)
        )
        now = self.station.now()
        starts = [
            s for s in period_starts(begin, end, length, self.station.env.tz) if s + length <= now
        ]
        starts = starts[: self.station.env.config.history_limit]
        if not starts:
            self._result(frame, 100)
            return
        for start in starts:
            if self.station.link.stopping:
                return
            if cn == 2041:
                outs = self.station.upload(
                    cn, start, None, self.station.runtime_fields(start), history=True, wait=True
                )
            else:
                values = self._history_values(start, length)
                outs = self.station.upload(cn, start, values, history=True, wait=True)
            for out in outs:
                if out.waiter is not None:
                    await out.waiter
        self._result(frame, 1)

    def _history_values(self, start: int, length: int) -> dict[str, dict[str, str]]:
        """A past period recomputed from the value model (no fault episodes)."""
        step = self.station.schedule.rtd_interval
        count = max(1, length // step)
        if count > _HISTORY_SAMPLES:
            step *= math.ceil(count / _HISTORY_SAMPLES)
        acc = PeriodAccumulator(self.station.profile, start)
        for t in range(start, start + length, step):
            _, values, flags, zs, cou = self.station.measure(t, step, False)
            acc.add(values, flags, zs, cou)
        return acc.values(self.station.codes)


_HANDLERS: dict[int, Callable[[Downlink, Frame], None]] = {
    1000: Downlink._cmd_timeout_retry,
    1011: Downlink._cmd_get_time,
    1012: Downlink._cmd_set_time,
    1061: Downlink._cmd_get_rtd,
    1062: Downlink._cmd_set_rtd,
    1063: Downlink._cmd_get_min,
    1064: Downlink._cmd_set_min,
    1014: Downlink._cmd_key_exchange,
    1072: Downlink._cmd_set_password,
    2011: lambda downlink, frame: downlink._switch(frame, "realtime", on=True),
    2012: lambda downlink, frame: downlink._switch(frame, "realtime", on=False),
    2021: lambda downlink, frame: downlink._switch(frame, "status", on=True),
    2022: lambda downlink, frame: downlink._switch(frame, "status", on=False),
    2031: Downlink._cmd_history,
    2041: Downlink._cmd_history,
    2051: Downlink._cmd_history,
    2061: Downlink._cmd_history,
    3011: Downlink._cmd_calibrate,
    3017: Downlink._cmd_sampling_period,
    3018: Downlink._cmd_sample_time,
    3019: Downlink._cmd_instrument_sn,
    3020: Downlink._cmd_field_info,
}
"""CN → handler (aiosmtpd-style table); other known CNs get the generic flow."""
