"""Encoders: everything the platform sends, and what a data logger sends back.

Pure functions returning complete frames (``##LLLL … CCCC\\r\\n``).  QN values
and times are arguments — the codec has no clock (use
:func:`protocol.timefmt.format_qn` with the caller's clock).

Replies follow the edition the device speaks ([S17] App. C; [S05] App. C,
PROTOCOL.md §4 "Reply formats"):

* 2017: ``QN=<echoed QN>;ST=91;CN=90xx;PW=…;MN=…;Flag=4;CP=&&…&&``
* 2025: the same with ``Flag=8`` (version 2, HJ 212-2025 appendix C);
* 2005: QN goes inside CP: ``ST=91;CN=9011;PW=…;MN=…;Flag=0;CP=&&QN=…;QnRtn=1&&``;
  the 2005 data answer is ``ST=91;CN=9014;CP=&&QN=…;CN=2051[;PNO=1;PNUM=1;]&&``
  with no PW or MN.

Requests from the platform carry the station's ST with ``Flag=5`` in 2017 and
``Flag=3`` in 2005 (as in the standards' examples).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from ._events import Frame
from .compiled import compiled, fastpath
from .crc import crc16
from .errors import EncodeError
from .sm4 import encrypt_frame

__all__ = [
    "encode_data_ack",
    "encode_execution_result",
    "encode_frame",
    "encode_notify_ack",
    "encode_reply",
    "encode_request",
    "encode_request_answer",
    "encode_upload",
    "format_cp",
    "format_values",
    "segment",
]

Scalar = str | int | float
HeadItems = Sequence[tuple[str, Scalar | None]]
CpItems = Mapping[str, Scalar] | Sequence[tuple[str, Scalar]]

_FORBIDDEN = (";", ",", "=", "&&", "\r", "\n")
_SAFE_HEAD = re.compile(r"[^;,=&\r\n]*").fullmatch
#: protocol._fastpath.data_ack: the 2017 9014 of a clean head, in C (None: not in use)
_DATA_ACK: Callable[[str, str, str], bytes | None] | None = compiled(fastpath, "data_ack")


def encode_frame(data_segment: str) -> bytes:
    """Wrap a data segment: ``##`` + length (UTF-8 bytes) + segment + CRC + CRLF."""
    data = data_segment.encode("utf-8")
    if len(data) > 9999:
        raise EncodeError(f"data segment of {len(data)} bytes does not fit LLLL (max 9999)")
    return b"##%04d%b%04X\r\n" % (len(data), data, crc16(data))


def _text(value: Scalar) -> str:
    if isinstance(value, bool):
        raise EncodeError("booleans have no HJ 212 representation; send 0/1")
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e15 else f"{value:.1f}"
    return str(value)


def _check(key: str, value: str) -> None:
    for bad in _FORBIDDEN:
        if bad in key or (bad in value and not (value.startswith("//") and value.endswith("//"))):
            raise EncodeError(f"{key}={value!r}: HJ 212 has no escaping for {bad!r}")


def format_cp(items: CpItems, sep: str = ";") -> str:
    """``{"RtdInterval": 30}`` → ``RtdInterval=30`` (items joined with ``sep``: ``;``, or the
    ``,`` of HJ 212-2025's 1014 ``SKCreateTime=…,NewSK=…``)."""
    pairs = items.items() if isinstance(items, Mapping) else items
    out = []
    for key, value in pairs:
        text = _text(value)
        _check(key, text)
        out.append(f"{key}={text}")
    return sep.join(out)


def format_values(values: Mapping[str, Mapping[str, Scalar]]) -> str:
    """``{"a21026": {"Rtd": 8.0, "Flag": "N"}}`` → ``a21026-Rtd=8.0,a21026-Flag=N``."""
    items = []
    for code, fields in values.items():
        parts = []
        for name, value in fields.items():
            text = _text(value)
            _check(f"{code}-{name}", text)
            parts.append(f"{code}-{name}={text}")
        items.append(",".join(parts))
    return ";".join(items)


def segment(head: HeadItems, cp: str) -> str:
    """Join head fields (``None`` values are left out) and a CP body."""
    parts = []
    for key, value in head:
        if value is None:
            continue
        text = _text(value)
        _check(key, text)
        parts.append(f"{key}={text}")
    parts.append(f"CP=&&{cp}&&")
    return ";".join(parts)


#: Flag version bits (V5–V0) of each edition: 2005 → 0, 2017 → 1, 2025 → 2.
_VERSIONS = {"2005": 0, "2017": 1, "2025": 2}


def _reply_flag(edition: str) -> int:
    """Flag of a reply: version bits of the device's edition, no ack/split bits
    (2017: 4, HJ 212-2025: 8)."""
    if edition in _VERSIONS:
        return _VERSIONS[edition] << 2
    if edition.startswith("v") and edition[1:].isascii() and edition[1:].isdigit():
        return int(edition[1:]) << 2
    return 4


def _head(
    cn: int, *, qn: str | None, st: str, pw: str | None, mn: str | None, flag: int | None
) -> list[tuple[str, Scalar | None]]:
    """The head fields in their standard order; a None value is left out by :func:`segment`."""
    return [("QN", qn), ("ST", st), ("CN", f"{cn:04d}"), ("PW", pw), ("MN", mn), ("Flag", flag)]


def encode_data_ack(frame: Frame) -> bytes:
    """The 9014 data answer for an upload, in the device's edition ([S17] C.48/C.50:
    one per split part, echoing that part's QN)."""
    if frame.edition == "2005":
        cp: list[tuple[str, Scalar]] = []
        qn = frame.effective_qn
        if qn is not None:
            cp.append(("QN", qn))
        cp.append(("CN", f"{frame.cn:04d}"))
        body = format_cp(cp)
        if frame.pno is not None and frame.pnum is not None:
            body += f";PNO={frame.pno};PNUM={frame.pnum};"
        return encode_frame(segment([("ST", "91"), ("CN", "9014")], body))
    sent = frame.head  # frame.qn, .pw, .mn without three property calls (every ack)
    qn, pw, mn = sent.get("QN"), sent.get("PW"), sent.get("MN")
    if frame.edition == "2017" and qn and pw and mn:
        # the hot path of every server: the usual clean head, formatted directly (in C
        # when protocol._fastpath is built: None leaves anything unusual to Python)
        if _DATA_ACK is not None and (ack := _DATA_ACK(qn, pw, mn)) is not None:
            return ack
        if _SAFE_HEAD(qn + pw + mn):
            return encode_frame(f"QN={qn};ST=91;CN=9014;PW={pw};MN={mn};Flag=4;CP=&&&&")
    head = _head(9014, qn=qn, st="91", pw=pw, mn=mn, flag=_reply_flag(frame.edition))
    return encode_frame(segment(head, ""))


def encode_reply(
    cn: int, *, qn: str | None, mn: str | None, pw: str | None, edition: str, cp: CpItems
) -> bytes:
    """A 9011/9012/9013/9014 reply echoing ``qn`` in the given edition's layout."""
    items = list(cp.items()) if isinstance(cp, Mapping) else list(cp)
    if edition == "2005":
        if qn is not None:
            items.insert(0, ("QN", qn))
        head = _head(cn, qn=None, st="91", pw=pw, mn=mn, flag=0)
    else:
        head = _head(cn, qn=qn, st="91", pw=pw, mn=mn, flag=_reply_flag(edition))
    return encode_frame(segment(head, format_cp(items)))


def encode_notify_ack(frame: Frame) -> bytes:
    """The 9013 answer to a notification (1013, 2072; or 2012/2022 at a station)."""
    return encode_reply(
        9013, qn=frame.effective_qn, mn=frame.mn, pw=frame.pw, edition=frame.edition, cp=()
    )


def encode_request_answer(
    *, qn: str | None, mn: str | None, pw: str | None, edition: str, qn_rtn: int = 1
) -> bytes:
    """9011 ``QnRtn`` — a data logger answering a platform request."""
    return encode_reply(9011, qn=qn, mn=mn, pw=pw, edition=edition, cp=[("QnRtn", qn_rtn)])


def encode_execution_result(
    *, qn: str | None, mn: str | None, pw: str | None, edition: str, exe_rtn: int = 1
) -> bytes:
    """9012 ``ExeRtn`` — a data logger reporting how a request ended."""
    return encode_reply(9012, qn=qn, mn=mn, pw=pw, edition=edition, cp=[("ExeRtn", exe_rtn)])


def encode_request(
    cn: int,
    *,
    qn: str,
    st: str,
    mn: str,
    pw: str,
    edition: str = "2017",
    cp: CpItems = (),
    flag: int | None = None,
    sep: str = ";",
    sm4_key: bytes | None = None,
) -> bytes:
    """A platform → station request or notification (1000 … 3021).

    ``flag`` defaults to the standards' examples: 5 (2017: version 1 + answer
    wanted), 9 (2025) or 3 (2005).  With ``sm4_key`` the CP is encrypted
    (HJ 212-2025 §6.4, :func:`protocol.sm4.encrypt_frame`)."""
    if flag is None:
        flag = 3 if edition == "2005" else (_reply_flag(edition) | 1)
    head = _head(cn, qn=qn, st=st, pw=pw, mn=mn, flag=flag)
    frame = encode_frame(segment(head, format_cp(cp, sep)))
    return frame if sm4_key is None else encrypt_frame(frame, sm4_key)


def encode_upload(
    cn: int,
    *,
    st: str,
    mn: str,
    pw: str,
    edition: str = "2017",
    qn: str | None = None,
    data_time: str | None = None,
    values: Mapping[str, Mapping[str, Scalar]] | None = None,
    fields: CpItems = (),
    ack: bool = True,
    pnum: int | None = None,
    pno: int | None = None,
    flag: int | None = None,
    backfill: bool = False,
    sm4_key: bytes | None = None,
) -> bytes:
    """A station → platform upload (2011/2051/2061/2031 data, 2021 status, 3020 …).

    2017/2025 set the version bits, the ack bit when ``ack`` and the split bit when
    the frame is part of a split group; 2005 leaves out QN/Flag unless given.
    HJ 212-2025: ``backfill`` writes ``RF=1`` (re-sent past data), ``sm4_key``
    encrypts the CP."""
    if flag is None:
        if edition == "2005":
            flag = (1 if ack else 0) | (2 if pnum is not None else 0)
            flag = flag or None  # 2005 uploads usually carry no Flag
        else:
            flag = _reply_flag(edition) | (1 if ack else 0) | (2 if pnum is not None else 0)
    head = _head(cn, qn=qn, st=st, pw=pw, mn=mn, flag=flag)
    if pnum is not None:
        head += [("PNUM", pnum), ("PNO", pno)]
    if backfill:
        head.append(("RF", 1))
    parts: list[str] = []
    if data_time is not None:
        parts.append(f"DataTime={data_time}")
    extra = format_cp(fields)
    if extra:
        parts.append(extra)
    if values:
        parts.append(format_values(values))
    frame = encode_frame(segment(head, ";".join(parts)))
    return frame if sm4_key is None else encrypt_frame(frame, sm4_key)
