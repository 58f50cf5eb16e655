"""Events produced by the decoder: frozen, slotted dataclasses.

Every accepted frame becomes a :class:`Frame` subclass chosen by its CN and
the decoder's role; every rejected one a :class:`FrameError`.  The head is
parsed eagerly (it is short and every consumer needs it); the CP body is kept
as text and parsed on first access of :attr:`Frame.values` /
:attr:`Frame.fields`, so a consumer that only needs to ack or to archive a
frame never pays for it.

Values stay the exact text the device sent ("8.0" stays "8.0"): converting to
float is the storage layer's decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

from ._segment import get_int, parse_cp
from .errors import ErrorCode
from .factors import FACTORS, legacy_to_2017

__all__ = [
    "NEED_DATA",
    "Command",
    "DataUpload",
    "Event",
    "Frame",
    "FrameError",
    "Heartbeat",
    "InfoUpload",
    "NeedData",
    "Notification",
    "Reply",
    "StatusUpload",
    "UnknownFrame",
]


# (values, fields, legacy codes) — a plain tuple: built once per parsed frame
_Parsed = tuple[dict[str, dict[str, str]], dict[str, str], dict[str, str]]


#: every 2017 code (the common case: no code of a frame needs mapping)
_KNOWN_CODES: Final = frozenset(FACTORS)


def _map_legacy(
    values: dict[str, dict[str, str]], st: str | None
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """2005 / original codes → 2017 codes, remembering the original ([S17] App. B 原编码)."""
    legacy: dict[str, str] = {}
    if _KNOWN_CODES.issuperset(values):  # a set, not the mapping's keys view: 10× cheaper
        return values, legacy
    for code in values:
        if code in FACTORS:
            continue
        mapped = legacy_to_2017(code, st)
        if (
            mapped is None
            and len(code) == 5
            and code.isascii()
            and code.isdigit()
            and f"w{code}" in FACTORS
        ):
            mapped = f"w{code}"  # "01018-Rtd" with the w missing ([S17] C.14)
        if mapped is not None and mapped not in values:
            legacy[mapped] = code
    if not legacy:
        return values, legacy
    original_to_mapped = {orig: mapped for mapped, orig in legacy.items()}
    return {original_to_mapped.get(k, k): v for k, v in values.items()}, legacy


@dataclass(frozen=True, slots=True)
class Frame:
    """An accepted HJ 212 frame (CRC verified).

    ``edition`` is "2017" (Flag version 1), "2005" (version 0 or no Flag) or
    ``"v<N>"`` for other Flag versions (8–11 are claimed by a surface-water
    profile and by HJ 212-2025; never rejected).
    """

    kind: ClassVar[str] = "frame"

    edition: str
    cn: int
    flag: int | None
    head: Mapping[str, str]
    cp: str
    raw: bytes
    notes: tuple[str, ...] = ()
    _parsed: _Parsed | None = field(default=None, repr=False, compare=False)
    #: ``data_time`` when the decoder's C path read it from a plain ``DataTime=<digits>``
    #: opening the CP (what the property's own first branch returns); None: ask it
    _data_time: str | None = field(default=None, init=False, repr=False, compare=False)

    # -- head fields (kept as sent in ``head``) ----------------------------
    @property
    def qn(self) -> str | None:
        return self.head.get("QN")

    @property
    def st(self) -> str | None:
        return self.head.get("ST")

    @property
    def pw(self) -> str | None:
        return self.head.get("PW")

    @property
    def mn(self) -> str | None:
        return self.head.get("MN")

    @property
    def pnum(self) -> int | None:
        return get_int(self.head, "PNUM")

    @property
    def pno(self) -> int | None:
        return get_int(self.head, "PNO")

    @property
    def backfill(self) -> bool:
        """HJ 212-2025 ``RF=1``: the frame re-sends data of the past (补传)."""
        return self.head.get("RF") == "1"

    @property
    def encrypted(self) -> bool:
        """The CP came SM4-encrypted (HJ 212-2025); ``raw`` holds the plaintext frame."""
        return "sm4" in self.notes

    # -- flags -----------------------------------------------------------
    @property
    def ack_requested(self) -> bool:
        """The A bit (Flag bit 0): the sender wants a 9014 data answer."""
        return self.flag is not None and bool(self.flag & 1)

    @property
    def is_split(self) -> bool:
        """Part of a PNUM/PNO group (the D bit, or PNUM/PNO present without Flag)."""
        return "PNUM" in self.head and self.pnum is not None and self.pno is not None

    # -- CP body -----------------------------------------------------------
    def _parse(self) -> _Parsed:
        parsed = self._parsed
        if parsed is None:
            values, fields = parse_cp(self.cp)
            values, legacy = _map_legacy(values, self.st)
            parsed = (values, fields, legacy)
            _SET_PARSED(self, parsed)
        return parsed

    @property
    def values(self) -> Mapping[str, Mapping[str, str]]:
        """Per-factor fields: ``{"a21026": {"Rtd": "8.0", "Flag": "N"}}`` (2017 codes)."""
        return self._parse()[0]

    @property
    def fields(self) -> Mapping[str, str]:
        """CP keys that are not factor fields (``DataTime``, ``QnRtn``, ``PolId`` …)."""
        return self._parse()[1]

    @property
    def legacy_codes(self) -> Mapping[str, str]:
        """2017 code → the original (2005) code it was mapped from."""
        return self._parse()[2]

    @property
    def data_time(self) -> str | None:
        """``DataTime`` as sent (14 or 17 digits); also accepts the ``DataT=`` typo."""
        known = self._data_time
        if known is not None:
            return known
        cp = self.cp
        if cp.startswith("DataTime="):
            end = cp.find(";", 9)
            value = cp[9:end] if end > 0 else cp[9:]
            if value.isascii() and value.isdigit() and cp.find("DataTime=", 9) < 0:
                return value  # else: what the field parser reads (the last DataTime)
        fields = self.fields
        return fields.get("DataTime") or fields.get("DataT")

    @property
    def effective_qn(self) -> str | None:
        """The head QN, or the QN inside CP (2005 replies and notifications)."""
        if self.qn is not None:
            return self.qn
        return self.fields.get("QN")

    def to_json(self) -> dict[str, Any]:
        """The ``envgrid decode`` object for this frame."""
        fields = {k: v for k, v in self.fields.items() if k not in ("DataTime", "DataT")}
        out: dict[str, Any] = {
            "ok": True,
            "type": self.kind,
            "edition": self.edition,
            "qn": self.effective_qn,
            "st": self.st,
            "cn": f"{self.cn:04d}",
            "pw": self.pw,
            "mn": self.mn,
            "flag": self.flag,
            "pnum": self.pnum,
            "pno": self.pno,
            "backfill": self.backfill,
            "encrypted": self.encrypted,
            "data_time": self.data_time,
            "values": {code: dict(v) for code, v in self.values.items()},
            "fields": fields,
        }
        if self.legacy_codes:
            out["legacy_codes"] = dict(self.legacy_codes)
        extra = {k: v for k, v in self.head.items() if k not in _HEAD_KEYS}
        if extra:
            out["head_extra"] = extra
        if self.notes:
            out["notes"] = list(self.notes)
        return out


_HEAD_KEYS = frozenset({"QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO", "RF"})

_SETTERS = tuple(
    Frame.__dict__[name].__set__ for name in ("edition", "cn", "flag", "head", "cp", "raw", "notes")
)
_SET_PARSED = Frame.__dict__["_parsed"].__set__
_SET_DATA_TIME = Frame.__dict__["_data_time"].__set__


def make_frame(
    cls: type[Frame],
    edition: str,
    cn: int,
    flag: int | None,
    head: Mapping[str, str],
    cp: str,
    raw: bytes,
    notes: tuple[str, ...] = (),
) -> Frame:
    """Build a frame without the frozen ``__init__``'s per-field ``object.__setattr__``
    (the decoder's hot path; the result is the same immutable object)."""
    obj = object.__new__(cls)
    s_edition, s_cn, s_flag, s_head, s_cp, s_raw, s_notes = _SETTERS
    s_edition(obj, edition)
    s_cn(obj, cn)
    s_flag(obj, flag)
    s_head(obj, head)
    s_cp(obj, cp)
    s_raw(obj, raw)
    s_notes(obj, notes)
    _SET_PARSED(obj, None)
    _SET_DATA_TIME(obj, None)
    return obj


@dataclass(frozen=True, slots=True)
class DataUpload(Frame):
    """Monitoring data: real-time 2011, minute 2051, hourly 2061, daily 2031."""

    kind: ClassVar[str] = "data"


@dataclass(frozen=True, slots=True)
class StatusUpload(Frame):
    """Equipment status 2021 (``SBx-RS``) or daily run time 2041 (``SBx-RT``)."""

    kind: ClassVar[str] = "status"


@dataclass(frozen=True, slots=True)
class InfoUpload(Frame):
    """Other field uploads: power-on time 2081, field info/logs 3020, instrument SN 3019,
    parameter answers (1011 time, 1061 RtdInterval, 1063 MinInterval, 3017 …),
    2005 alarm records 2071."""

    kind: ClassVar[str] = "info"


@dataclass(frozen=True, slots=True)
class Notification(Frame):
    """A field-initiated notification answered with 9013 (1013 time calibration
    request; 2005 alarm event 2072)."""

    kind: ClassVar[str] = "notification"


@dataclass(frozen=True, slots=True)
class Heartbeat(Frame):
    """Vendor or later-edition keep-alive (8013, 9015)."""

    kind: ClassVar[str] = "heartbeat"


@dataclass(frozen=True, slots=True)
class Reply(Frame):
    """9011 request answer, 9012 execution result, 9013 notification answer, 9014 data answer."""

    kind: ClassVar[str] = "reply"

    @property
    def request_qn(self) -> str | None:
        """The QN being answered (head in 2017, inside CP in 2005)."""
        return self.fields.get("QN") or self.qn

    @property
    def qn_rtn(self) -> int | None:
        return _int_or_none(self.fields.get("QnRtn"))

    @property
    def exe_rtn(self) -> int | None:
        return _int_or_none(self.fields.get("ExeRtn"))

    @property
    def acked_cn(self) -> int | None:
        """The CN a 2005 data answer acknowledges (``CP=&&QN=…;CN=2051&&``)."""
        return _int_or_none(self.fields.get("CN"))


@dataclass(frozen=True, slots=True)
class Command(Frame):
    """A platform → field request (what a data logger, e.g. a simulator, decodes)."""

    kind: ClassVar[str] = "command"


@dataclass(frozen=True, slots=True)
class UnknownFrame(Frame):
    """A well-formed frame with a CN the tables do not know — kept, never dropped."""

    kind: ClassVar[str] = "unknown"


def _int_or_none(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None


@dataclass(frozen=True, slots=True)
class FrameError:
    """Bytes the decoder rejected, with the reason."""

    kind: ClassVar[str] = "error"

    code: ErrorCode
    detail: str
    offset: int
    raw: bytes = b""
    mn: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": False,
            "error": self.code.value,
            "detail": self.detail,
            "offset": self.offset,
        }
        if self.mn is not None:
            out["mn"] = self.mn
        return out


class NeedData:
    """Sentinel type: the decoder needs more bytes before it can produce an event."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = NeedData()

Event = Frame | FrameError
