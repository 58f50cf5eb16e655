"""Streaming HJ 212 decoder: bytes in, events out (sans-I/O).

Theory of operation
-------------------
A frame is ``"##" LLLL <data segment> CCCC "\\r\\n"`` ([S17] table 2).  The
decoder keeps at most one partial frame (bounded by ``hard_cap + 12`` bytes)
and scans each chunk it is fed:

1. find ``##``; bytes before it that are not whitespace are *garbage*;
2. ``LLLL`` must be four digits, else ``bad_header`` and resync after the ``##``;
3. fast path: the CRLF sits exactly where ``LLLL`` says → verify the CRC;
4. otherwise locate the real end: the first CRLF after the header, unless a
   new ``##`` starts first (then this frame is ``truncated``).  With the real
   end known, a length that counts UTF-8 *characters* instead of bytes and a
   CRC written without zero padding are tolerated (and noted); any other
   disagreement is ``bad_length``;
5. ``LLLL`` above ``max_length`` (1024 by the standard) is ``oversize``; frames
   up to ``hard_cap`` (9999) are still consumed whole so the stream stays in
   sync.  Raise ``max_length`` to accept them (counted as ``oversize_accepted``).
6. a CRC mismatch is ``crc_mismatch``, unless the sender's MN is allowed the
   byte-swapped CRC-16/MODBUS variant seen in the field (off by default,
   counted as ``modbus_accepted``).
7. an HJ 212-2025 frame whose CP is SM4-encrypted (``CP=&&{0x..,…}``) is decrypted
   with the keys ``sm4_keys(mn)`` gives (current first, then a previous one in its
   grace period); the CRC is checked over the plaintext, ``LLLL`` may be the plaintext
   or the wire length, and the event carries the *plaintext* frame as ``raw`` with the
   note ``sm4`` (:mod:`protocol.sm4`).  No key: ``sm4_no_key``; unreadable bytes:
   ``sm4_bad_ciphertext``; no key gives the CRC: ``crc_mismatch``.

Nothing here raises on peer input (see :mod:`protocol.errors`).  Use
:meth:`Decoder.feed` (returns a list — the fast path used by the server) or the
h11-style :meth:`Decoder.receive_data` / :meth:`Decoder.next_event` pair
(``b""`` signals end of stream).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from ._events import (
    NEED_DATA,
    Command,
    DataUpload,
    Event,
    Frame,
    FrameError,
    Heartbeat,
    InfoUpload,
    NeedData,
    Notification,
    Reply,
    StatusUpload,
    UnknownFrame,
    make_frame,
)
from ._segment import get_int, parse_head, split_segment
from .commands import COMMANDS, Direction
from .compiled import compiled, fastpath
from .crc import crc16, crc16_modbus
from .errors import ErrorCode
from .sm4 import Sm4FormatError, decrypt_segment, is_encrypted, sm4_for

__all__ = ["STANDARD_MAX_LENGTH", "Decoder", "DecoderStats", "Role"]

#: [S17] table 2: the data segment is 0 ≤ n ≤ 1024 characters.
STANDARD_MAX_LENGTH = 1024
#: ``LLLL`` has four digits, so no frame can claim more.
HARD_CAP = 9999
_EXCERPT = 120
_WHITESPACE = b" \t\r\n\x00"
_MN_RE = re.compile(rb"MN=([^;&,]*)")


class Role(StrEnum):
    """Which side of the link the decoder sits on (decides how a CN is read)."""

    PLATFORM = "platform"  # decodes what stations send
    STATION = "station"  # decodes what the platform sends (simulators)


_DATA_CN = frozenset({2011, 2051, 2061, 2031})
_STATUS_CN = frozenset({2021, 2041})
_REPLY_CN = frozenset({9011, 9012, 9013, 9014})
_NOTIFY_CN = frozenset({1013, 2072})
_HEARTBEAT_CN = frozenset({8013, 9015})


_EDITIONS = {0: "2005", 1: "2017", 2: "2025"}
# The head in the standard's order ([S17] table 3) — nearly every 2017 frame.  Anything
# else (2005 order, missing QN/Flag, stray spaces or commas) goes through parse_head.
_STD_HEAD = re.compile(
    r"QN=([0-9]{17});ST=([0-9A-Za-z]{2});CN=([0-9]{4});PW=([^;,= ]*);MN=([^;,= ]*);"
    r"Flag=([0-9]{1,3});(?:PNUM=([0-9]{1,4});PNO=([0-9]{1,4});)?CP=&&"
).match


#: protocol._fastpath.quick: what _fast reads, in C (None: not built, or switched off)
_QUICK: Final[Callable[[bytes, int, int], Any] | None] = compiled(fastpath, "quick")
#: protocol._fastpath.feed_clean: feed of whole clean frames, in C, the frames built there
#: as make_frame builds them (frame_layout tells it where Frame's slots are)
_FEED_CLEAN: Final[Callable[[bytes, Any, Any, Any], list[Event] | None] | None] = compiled(
    fastpath, "feed_clean"
)
if fastpath is not None:
    fastpath.frame_layout(
        Frame,
        ("edition", "cn", "flag", "head", "cp", "raw", "notes", "_parsed", "_data_time"),
    )


def _classify(cn: int, role: Role) -> type[Frame]:
    """Event class of a CN as seen from ``role`` (unknown CNs: UnknownFrame)."""
    if cn in _REPLY_CN:
        return Reply
    if cn in _HEARTBEAT_CN:
        return Heartbeat
    info = COMMANDS.get(cn)
    if role is Role.STATION:
        return Command if info is not None else UnknownFrame
    if cn in _DATA_CN:
        return DataUpload
    if cn in _STATUS_CN:
        return StatusUpload
    if cn in _NOTIFY_CN:
        return Notification
    if info is None:
        return UnknownFrame
    return Command if info.direction is Direction.DOWNLINK else InfoUpload


_CLASSES: dict[Role, dict[int, type[Frame]]] = {
    role: {cn: _classify(cn, role) for cn in (*COMMANDS, *_REPLY_CN, *_HEARTBEAT_CN)}
    for role in Role
}


@dataclass(slots=True)
class DecoderStats:
    """Counters of one decoder (one connection); the server sums them."""

    bytes: int = 0
    frames: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    oversize_accepted: int = 0
    modbus_accepted: int = 0
    length_in_chars: int = 0
    crc_unpadded: int = 0
    non_utf8: int = 0
    decrypted: int = 0


class Decoder:
    """One HJ 212 byte stream → frames and protocol errors.

    ``max_length``: largest accepted data segment (default 1024, the standard);
    up to 9999 may be allowed for non-compliant devices.
    ``lenient_terminator``: accept a bare LF (and, at end of stream, no
    terminator) — for reading files with one frame per line.
    ``modbus_tolerant``: ``True`` for everyone, or a container of MNs allowed
    the byte-swapped CRC-16/MODBUS variant.
    ``sm4_keys``: MN → the SM4 keys to try on an encrypted CP (HJ 212-2025).
    """

    __slots__ = (
        "_classes",
        "_events",
        "_lenient",
        "_modbus",
        "_offset",
        "_pending",
        "_role",
        "_skipping",
        "_sm4_keys",
        "max_length",
        "stats",
    )

    def __init__(
        self,
        *,
        role: Role = Role.PLATFORM,
        max_length: int = STANDARD_MAX_LENGTH,
        lenient_terminator: bool = False,
        modbus_tolerant: bool | Container[str] = False,
        sm4_keys: Callable[[str], Sequence[bytes]] | None = None,
    ) -> None:
        if not 0 < max_length <= HARD_CAP:
            raise ValueError(f"max_length must be 1..{HARD_CAP}, got {max_length}")
        self._role = role
        self._classes = _CLASSES[role]
        self.max_length = max_length
        self._lenient = lenient_terminator
        self._modbus = modbus_tolerant
        self._sm4_keys = sm4_keys
        self._pending = b""
        self._offset = 0  # stream offset of _pending[0]
        self._skipping = False  # inside the rest of a rejected frame: no garbage reports
        #: made by the first ``receive_data``: an empty deque is 760 bytes, and a server
        #: that calls ``feed`` holds one decoder per idle connection
        self._events: deque[Event] | None = None
        self.stats = DecoderStats()

    # -- h11-style interface -------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        """Add bytes; ``b""`` means the peer closed the stream."""
        if self._events is None:
            self._events = deque()
        self._events.extend(self.feed(data) if data else self.close())

    def next_event(self) -> Event | NeedData:
        """The next event, or ``NEED_DATA``."""
        if self._events:
            return self._events.popleft()
        return NEED_DATA

    @property
    def buffered(self) -> int:
        """Bytes held for an incomplete frame (bounded by ``HARD_CAP + 12``)."""
        return len(self._pending)

    # -- the scanner ---------------------------------------------------------
    def feed(self, data: bytes) -> list[Event]:
        """Consume ``data``; return every event it completes, in stream order."""
        if _FEED_CLEAN is not None and not self._pending and type(data) is bytes:
            # whole clean frames and nothing else (nearly every read): read in C
            frames = _FEED_CLEAN(data, self._classes, UnknownFrame, _EDITIONS)
            if frames is not None:
                stats = self.stats
                stats.bytes += len(data)
                stats.frames += len(frames)
                self._offset += len(data)
                self._skipping = False
                return frames
        self.stats.bytes += len(data)
        if self._pending:
            buf = self._pending + data
        else:
            buf = data
        base = self._offset
        out: list[Event] = []
        n = len(buf)
        pos = 0
        while pos < n:
            i = buf.find(b"##", pos)
            if i < 0:
                keep = 1 if buf[n - 1] == 0x23 else 0  # a lone '#' may start "##"
                self._garbage(out, buf, pos, n - keep, base)
                pos = n - keep
                break
            if i > pos:
                self._garbage(out, buf, pos, i, base)
            if n - i < 6:
                pos = i
                break
            self._skipping = False
            head = buf[i + 2 : i + 6]
            if not head.isdigit():
                self._error(
                    out,
                    ErrorCode.BAD_HEADER,
                    f"'##' not followed by 4 digits: {head!r}",
                    base + i,
                    buf[i : i + _EXCERPT],
                )
                self._skipping = True  # the rest of this frame is not new garbage
                pos = i + 2
                continue
            length = int(head)
            crc_at = i + 6 + length
            end = crc_at + 6
            if end <= n and buf[crc_at + 4 : end] == b"\r\n":
                event = None
                if length <= STANDARD_MAX_LENGTH:
                    event = self._fast(buf, i, crc_at, end)
                if event is None:  # anything unusual takes the careful path
                    self._frame(out, buf, i, i + 6, crc_at, crc_at + 4, end, length, base, ())
                else:
                    self.stats.frames += 1
                    out.append(event)
                pos = end
                continue
            nxt = self._slow(out, buf, i, length, base)
            if nxt is None:  # need more bytes
                pos = i
                break
            pos = nxt
        self._pending = buf[pos:] if pos < n else b""
        self._offset = base + pos
        return out

    def close(self) -> list[Event]:
        """End of stream: report whatever incomplete frame is left."""
        out: list[Event] = []
        buf = self._pending
        if buf:
            base = self._offset
            if self._lenient and buf.startswith(b"##") and len(buf) >= 10:
                # one frame per line, last line without its terminator
                events = self.feed(b"\n")
                if not self._pending:
                    return events
                out.extend(events)
                buf, base = self._pending, self._offset
            if buf.strip(_WHITESPACE):
                code = ErrorCode.TRUNCATED if buf.startswith(b"##") else ErrorCode.GARBAGE
                self._error(
                    out,
                    code,
                    f"stream ended inside a frame ({len(buf)} bytes)",
                    base,
                    buf[:_EXCERPT],
                )
        self._pending = b""
        return out

    # -- helpers ---------------------------------------------------------------
    def _slow(self, out: list[Event], buf: bytes, i: int, length: int, base: int) -> int | None:
        """The frame at ``i`` does not end where LLLL says.  Returns the next scan
        position, or None to wait for more bytes."""
        n = len(buf)
        limit = min(n, i + HARD_CAP + 12)
        terminator = b"\n" if self._lenient else b"\r\n"
        lf = buf.find(terminator, i + 6, limit)
        nxt = buf.find(b"##", i + 2, limit)
        # Before the end LLLL declares has arrived, a rejection waits for it (the same
        # bytes must give the same events however TCP splits them: an inner CRLF or
        # "##" may be data) — unless a whole, valid frame follows, which must not stall.
        early = n < i + length + 12 and not (nxt >= 0 and self._whole_frame_at(buf, nxt))
        if lf >= 0 and (nxt < 0 or lf < nxt):
            crlf = lf - 1 if (self._lenient and buf[lf - 1] == 0x0D) else lf
            after = lf + len(terminator)
            if crlf - 4 < i + 6:
                if early:
                    return None
                self._error(
                    out,
                    ErrorCode.BAD_LENGTH,
                    f"LLLL says {length} but the frame ends after {crlf - i - 6} bytes",
                    base + i,
                    buf[i:after],
                )
                return after
            seg_start = i + 6
            if is_encrypted(buf[seg_start : crlf - 4]):
                if early:  # a plain frame whose CP starts with '{' may still be arriving
                    return None
                self._encrypted(out, buf[i:after], length, base + i)
                return after
            # the CRC field: 4 hex digits before the terminator (3 if written unpadded)
            crc_start = crlf - 4
            notes: tuple[str, ...] = ()
            real = crc_start - seg_start
            if real != length:
                if crlf - 3 - seg_start == length and _is_hex(buf[crlf - 3 : crlf]):
                    crc_start = crlf - 3
                    notes = ("crc_unpadded",)
                elif _char_length(buf[seg_start:crc_start]) == length:
                    notes = ("length_in_chars",)
                elif early:
                    return None
                elif length > self.max_length:
                    self._oversize(out, buf, i, after, length, base)
                    return after
                else:
                    self._error(
                        out,
                        ErrorCode.BAD_LENGTH,
                        f"LLLL says {length} but the data segment has {real} bytes",
                        base + i,
                        buf[i:after],
                        _mn_of(buf[seg_start:crc_start]),
                    )
                    return after
            self._frame(out, buf, i, seg_start, crc_start, crlf, after, length, base, notes)
            return after
        if nxt >= 0:
            if early:
                return None
            self._error(
                out,
                ErrorCode.TRUNCATED,
                "frame not terminated by CRLF before the next '##'",
                base + i,
                buf[i:nxt],
                _mn_of(buf[i:nxt]),
            )
            return nxt
        if n - i >= HARD_CAP + 12 or (length > self.max_length and n >= i + length + 12):
            # no terminator where any frame could end: drop it, skip the rest quietly
            if length > self.max_length:
                self._error(
                    out,
                    ErrorCode.OVERSIZE,
                    f"LLLL {length} exceeds the cap {self.max_length}",
                    base + i,
                    buf[i : i + _EXCERPT],
                )
            else:
                self._error(
                    out,
                    ErrorCode.TRUNCATED,
                    f"no CRLF within {n - i} bytes of the frame start",
                    base + i,
                    buf[i : i + _EXCERPT],
                )
            self._skipping = True
            # nothing in buf[i + 2 : limit] can start a frame; what follows may (frames
            # sent behind a giant claim are still read, however the stream is split)
            return limit - 1 if buf[limit - 1] == 0x23 else limit
        return None

    def _whole_frame_at(self, buf: bytes, j: int) -> bool:
        """A complete frame with a good CRC starts at ``buf[j]`` (``##``)."""
        head = buf[j + 2 : j + 6]
        if len(head) < 4 or not head.isdigit():
            return False
        crc_at = j + 6 + int(head)
        terminator = buf[crc_at + 4 : crc_at + 6]
        if terminator != b"\r\n" and not (self._lenient and terminator[:1] == b"\n"):
            return False
        sent = buf[crc_at : crc_at + 4]
        return _is_hex(sent) and int(sent, 16) == crc16(buf[j + 6 : crc_at])

    def _fast(self, buf: bytes, start: int, crc_at: int, end: int) -> Frame | None:
        """The common case — a clean frame — with no detours.  None sends the frame
        through :meth:`_frame`, which handles and reports everything else."""
        if _QUICK is not None:  # the same in C (protocol/_fastpath.c) for ASCII segments
            parts = _QUICK(buf, start, crc_at)
            if parts is None:
                return None
            if parts is not NotImplemented:
                head, cn, flag, cp = parts
                edition = _EDITIONS.get(flag >> 2) or f"v{flag >> 2}"
                cls = self._classes.get(cn, UnknownFrame)
                return make_frame(cls, edition, cn, flag, head, cp, buf[start:end])
        segment = buf[start + 6 : crc_at]
        sent = buf[crc_at : crc_at + 4]
        expected = b"%04X" % crc16(segment)
        if sent != expected and sent.upper() != expected:
            return None
        try:
            text = segment.decode()
        except UnicodeDecodeError:
            return None
        return self._quick(text, buf[start:end])

    def _quick(self, text: str, raw: bytes, notes: tuple[str, ...] = ()) -> Frame | None:
        """The event of a data segment whose head is in the standard's order (nearly every
        frame); None for anything else (:meth:`_make` reads it)."""
        m = _STD_HEAD(text)
        if m is None:
            return None
        qn, st, cn_text, pw, mn, flag_text, pnum, pno = m.groups()
        close = text.rfind("&&")
        idx = m.end()
        if close < idx:
            return None
        if pnum is None:
            head = {"QN": qn, "ST": st, "CN": cn_text, "PW": pw, "MN": mn, "Flag": flag_text}
        else:
            head = {
                "QN": qn,
                "ST": st,
                "CN": cn_text,
                "PW": pw,
                "MN": mn,
                "Flag": flag_text,
                "PNUM": pnum,
                "PNO": pno,
            }
        cn = int(cn_text)
        flag = int(flag_text)
        edition = _EDITIONS.get(flag >> 2) or f"v{flag >> 2}"
        cls = self._classes.get(cn, UnknownFrame)
        return make_frame(cls, edition, cn, flag, head, text[idx:close], raw, notes)

    def _frame(
        self,
        out: list[Event],
        buf: bytes,
        start: int,
        seg_start: int,
        crc_start: int,
        crlf: int,
        after: int,
        length: int,
        base: int,
        notes: tuple[str, ...],
    ) -> None:
        if is_encrypted(buf[seg_start:crc_start]):
            self._encrypted(out, buf[start:after], length, base + start)
            return
        if length > self.max_length:
            self._oversize(out, buf, start, after, length, base)
            return
        segment = buf[seg_start:crc_start]
        crc_text = buf[crc_start:crlf]
        if not _is_hex(crc_text):
            self._error(
                out,
                ErrorCode.CRC_MISMATCH,
                f"CRC field {crc_text!r} is not hexadecimal",
                base + start,
                buf[start:after],
                _mn_of(segment),
            )
            return
        sent = int(crc_text, 16)
        if sent != crc16(segment):
            variant = self._modbus_variant(segment, sent)
            mn = _mn_of(segment)
            if variant is None or not self._modbus_allowed(mn):
                detail = f"CRC {crc_text.decode()} != {crc16(segment):04X}"
                if variant is not None:
                    detail += f" (matches {variant}; not enabled for this station)"
                self._error(out, ErrorCode.CRC_MISMATCH, detail, base + start, buf[start:after], mn)
                return
            self.stats.modbus_accepted += 1
            notes = (*notes, f"crc_{variant.replace('-', '_').replace('/', '_').lower()}")
        if length > STANDARD_MAX_LENGTH:
            self.stats.oversize_accepted += 1
            notes = (*notes, "oversize_accepted")
        if notes:
            if "length_in_chars" in notes:
                self.stats.length_in_chars += 1
            if "crc_unpadded" in notes:
                self.stats.crc_unpadded += 1
        self._emit(out, segment, buf[start:after], notes, base + start)

    def _emit(
        self, out: list[Event], segment: bytes, raw: bytes, notes: tuple[str, ...], offset: int
    ) -> None:
        """The event of a frame whose framing and CRC are good (``raw``: the whole frame)."""
        try:
            text = segment.decode("utf-8")
        except UnicodeDecodeError:
            text = segment.decode("gb18030", errors="replace")
            self.stats.non_utf8 += 1
            notes = (*notes, "not_utf8")
        event = self._make(text, raw, notes)
        if isinstance(event, FrameError):
            out.append(FrameError(event.code, event.detail, offset, event.raw, event.mn))
            self._count(event.code)
            return
        self.stats.frames += 1
        out.append(event)

    def _encrypted(self, out: list[Event], frame: bytes, length: int, offset: int) -> None:
        """An HJ 212-2025 frame with an SM4-encrypted CP (see the module docstring, 7);
        ``frame`` runs from ``##`` to the CRLF, which ends it."""
        end = len(frame) - (2 if frame.endswith(b"\r\n") else 1)
        wire, crc_text = frame[6 : end - 4], frame[end - 4 : end]
        mn = _mn_of(wire)
        keys = self._sm4_keys(mn) if self._sm4_keys is not None and mn else ()
        if not keys:
            detail = f"encrypted CP from MN {mn!r} and no SM4 key for it"
            self._error(out, ErrorCode.SM4_NO_KEY, detail, offset, frame, mn)
            return
        if not _is_hex(crc_text) or len(crc_text) != 4:
            detail = f"CRC field {crc_text!r} is not 4 hex digits"
            self._error(out, ErrorCode.CRC_MISMATCH, detail, offset, frame, mn)
            return
        sent = int(crc_text, 16)
        plain = b""
        for n, key in enumerate(keys):
            try:
                plain = decrypt_segment(wire, sm4_for(key))
            except (Sm4FormatError, ValueError) as exc:
                code = ErrorCode.SM4_BAD_CIPHERTEXT
                self._error(out, code, str(exc), offset, frame, mn)
                return
            if crc16(plain) == sent:
                notes: tuple[str, ...] = ("sm4",) if n == 0 else ("sm4", "sm4_previous_key")
                break
        else:
            detail = (
                f"encrypted CP does not decrypt with the SM4 key of {mn} (CRC {crc_text.decode()}"
                " over the plaintext does not match)"
            )
            self._error(out, ErrorCode.CRC_MISMATCH, detail, offset, frame, mn)
            return
        if length not in (len(plain), len(wire)):
            detail = (
                f"LLLL says {length}; the plaintext segment has {len(plain)} bytes and the wire"
                f" segment {len(wire)}"
            )
            self._error(out, ErrorCode.BAD_LENGTH, detail, offset, frame, mn)
            return
        if len(plain) > self.max_length:
            self._oversize(out, frame, 0, len(frame), len(plain), offset)
            return
        self.stats.decrypted += 1
        raw = b"##%04d%b%b\r\n" % (len(plain), plain, crc_text)
        if plain.isascii():
            event = self._quick(plain.decode("ascii"), raw, notes)
            if event is not None:
                self.stats.frames += 1
                out.append(event)
                return
        self._emit(out, plain, raw, notes, offset)

    def _make(self, text: str, raw: bytes, notes: tuple[str, ...]) -> Event:
        parts = split_segment(text)
        if parts is None:
            return FrameError(
                ErrorCode.BAD_HEADER, "data segment has no 'CP=&&'", 0, raw, _mn_of(raw)
            )
        head_text, body = parts
        head = parse_head(head_text)
        cn = get_int(head, "CN")
        if cn is None:
            return FrameError(
                ErrorCode.BAD_HEADER,
                f"missing or non-numeric CN: {head.get('CN')!r}",
                0,
                raw,
                head.get("MN"),
            )
        flag = get_int(head, "Flag")
        bad = _out_of_range(cn, flag, get_int(head, "PNUM"), get_int(head, "PNO"))
        if bad:
            return FrameError(ErrorCode.BAD_HEADER, bad, 0, raw, head.get("MN"))
        if flag is None:
            edition = "2005"
        else:
            edition = _EDITIONS.get(flag >> 2) or f"v{flag >> 2}"
        return self._classes.get(cn, UnknownFrame)(edition, cn, flag, head, body, raw, notes)

    def _oversize(
        self, out: list[Event], buf: bytes, start: int, after: int, length: int, base: int
    ) -> None:
        self._error(
            out,
            ErrorCode.OVERSIZE,
            f"LLLL {length} exceeds the cap {self.max_length}",
            base + start,
            buf[start : start + _EXCERPT],
            _mn_of(buf[start:after]),
        )

    @staticmethod
    def _modbus_variant(segment: bytes, sent: int) -> str | None:
        modbus = crc16_modbus(segment)
        if sent == ((modbus & 0xFF) << 8 | modbus >> 8):
            return "MODBUS-swapped"
        if sent == modbus:
            return "MODBUS"
        return None

    def _modbus_allowed(self, mn: str | None) -> bool:
        policy = self._modbus
        if isinstance(policy, bool):
            return policy
        return mn is not None and mn in policy

    def _garbage(self, out: list[Event], buf: bytes, start: int, stop: int, base: int) -> None:
        if stop <= start:
            return
        chunk = buf[start:stop]
        if self._skipping or not chunk.strip(_WHITESPACE):
            return
        self._error(
            out,
            ErrorCode.GARBAGE,
            f"{len(chunk)} bytes outside any frame",
            base + start,
            chunk[:_EXCERPT],
        )
        self._skipping = True  # one report per run of garbage, however it is chunked

    def _error(
        self,
        out: list[Event],
        code: ErrorCode,
        detail: str,
        offset: int,
        raw: bytes = b"",
        mn: str | None = None,
    ) -> None:
        self._count(code)
        out.append(FrameError(code, detail, offset, raw[: _EXCERPT * 4], mn))

    def _count(self, code: ErrorCode) -> None:
        errors = self.stats.errors
        errors[code.value] = errors.get(code.value, 0) + 1


def _out_of_range(cn: int, flag: int | None, pnum: int | None, pno: int | None) -> str:
    """Why head numbers exceed their fields' widths ([S17] table 3: CN N4, Flag N3 of 8
    bits, PNUM/PNO N4), or ""."""
    if cn > 9999:
        return f"CN {cn} has more than 4 digits"
    if flag is not None and flag > 255:
        return f"Flag {flag} does not fit in 8 bits"
    if (pnum or 0) > 9999 or (pno or 0) > 9999:
        return f"PNUM/PNO {pnum}/{pno} have more than 4 digits"
    return ""


def _is_hex(text: bytes) -> bool:
    return bool(text) and not text.translate(None, b"0123456789abcdefABCDEF")


def _char_length(segment: bytes) -> int:
    try:
        return len(segment.decode("utf-8"))
    except UnicodeDecodeError:
        return -1


def _mn_of(segment: bytes) -> str | None:
    match = _MN_RE.search(segment)
    if match is None:
        return None
    return match.group(1).decode("ascii", errors="replace")
