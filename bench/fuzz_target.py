"""The fuzz target: one input (opts byte + plan byte + stream) through the codec.

See :mod:`bench.fuzz` for the input layout and the invariants; :class:`Tally` is what
the target saw, :class:`FuzzTarget` checks one input, :func:`fuzz_result` turns a tally
into the scenario's result.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # the codec is imported lazily: the atheris worker instruments it first
    from protocol import Decoder, Event, Frame

DEFAULT_RSS_CAP_MB: Final = 1024

# opts bits (first input byte)
STATION: Final = 0x01
LENIENT: Final = 0x02
MODBUS: Final = 0x04
MAXLEN: Final = 0x08
REPAIR: Final = 0x10
H11_API: Final = 0x20
#: HJ 212-2025: the decoder has SM4 keys (:data:`FUZZ_KEYS`, for every MN); with REPAIR,
#: a region's CRC and LLLL are those of its plaintext and a plain CP is encrypted
SM4: Final = 0x40
#: plan bit: cut after every LF (line-wise reads)
LINEWISE: Final = 0x80
BYTEWISE_PLAN: Final = 255
BYTEWISE_MAX: Final = 512

_PAGE: Final = os.sysconf("SC_PAGE_SIZE")
_SAMPLES_PER_FINDING: Final = 3
_QN_RE: Final = re.compile(r"[0-9]{17}")
_MN_RE: Final = re.compile(r"[0-9A-Za-z]{1,24}")
_PROJECT_PACKAGES: Final = frozenset({"protocol", "bench"})
#: the keys an SM4 input's decoder tries: the standard's test key (sixteen 0x30, so the
#: appendix A vectors decrypt), then a "previous" key (GB/T 32907's test key)
FUZZ_KEY: Final = b"0000000000000000"
FUZZ_PREVIOUS_KEY: Final = bytes.fromhex("0123456789abcdeffedcba9876543210")
FUZZ_KEYS: Final = (FUZZ_KEY, FUZZ_PREVIOUS_KEY)


def fuzz_keys(mn: str) -> tuple[bytes, ...]:
    return FUZZ_KEYS


class InvariantViolation(AssertionError):
    """A fatal invariant broke (buffer cap, memory cap): the fuzzer stops here."""


def rss_mb() -> float:
    """Resident memory of this process (MB), from /proc/self/statm."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE / 1048576
    except (OSError, IndexError, ValueError):
        return 0.0


@dataclass
class Tally:
    """What the target saw; dumped as JSON by the worker and merged into the result."""

    inputs: int = 0
    streams_bytes: int = 0
    frames: int = 0
    frame_errors: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    max_buffered: int = 0
    max_input_s: float = 0.0
    peak_rss_mb: float = 0.0
    encode_refused: int = 0
    findings: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[str]] = field(default_factory=dict)
    crashes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def finding(self, name: str, data: bytes) -> None:
        self.findings[name] += 1
        kept = self.samples.setdefault(name, [])
        if len(kept) < _SAMPLES_PER_FINDING:
            kept.append(data.hex())

    def crash(self, exc: BaseException, data: bytes) -> None:
        signature = crash_signature(exc)
        entry = self.crashes.get(signature)
        if entry is None:
            self.crashes[signature] = {
                "count": 1,
                "input_hex": data.hex(),
                "traceback": "".join(traceback.format_exception(exc)[-6:]),
            }
        else:
            entry["count"] += 1
            if len(data) * 2 < len(entry["input_hex"]):  # keep the shortest reproducer
                entry["input_hex"] = data.hex()

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("frame_errors", "kinds", "findings"):
            out[key] = dict(getattr(self, key))
        return out


def crash_signature(exc: BaseException) -> str:
    """``ValueError@protocol/_segment.py:128`` — the innermost frame in the project."""
    where = "?"
    for frame in traceback.extract_tb(exc.__traceback__):
        parts = Path(frame.filename).parts
        if len(parts) >= 2 and parts[-2] in _PROJECT_PACKAGES:
            where = f"{parts[-2]}/{parts[-1]}:{frame.lineno}"
    return f"{type(exc).__name__}@{where}"


# -- input layout ------------------------------------------------------------------------


def repair(
    stream: bytes,
    crc: Callable[[bytes], int],
    seal: Callable[[bytes], tuple[bytes, bytes]] | None = None,
) -> bytes:
    """Give every ``##dddd…CRLF`` region the right LLLL and CRC (others left as they are).
    ``seal(segment)`` → (plaintext, wire): LLLL and CRC of the plaintext, the wire sent
    (HJ 212-2025 encryption, :func:`sm4_seal`)."""
    out = bytearray()
    pos = 0
    n = len(stream)
    while True:
        start = stream.find(b"##", pos)
        if start < 0 or start + 6 > n:
            break
        if not stream[start + 2 : start + 6].isdigit():
            out += stream[pos : start + 2]
            pos = start + 2
            continue
        end = stream.find(b"\r\n", start + 6)
        if end < 0 or end - 4 < start + 6:
            break
        segment = stream[start + 6 : end - 4]
        if len(segment) > 9999:
            break
        out += stream[pos:start]
        plain, wire = (segment, segment) if seal is None else seal(segment)
        out += b"##%04d%b%04X\r\n" % (len(plain), wire, crc(plain))
        pos = end + 2
    out += stream[pos:]
    return bytes(out)


def sm4_seal(segment: bytes) -> tuple[bytes, bytes]:
    """(plaintext, wire) of a region under :data:`FUZZ_KEY`: an encrypted CP is decrypted
    (mutated ciphertext → garbage plaintext with a right CRC: it reaches the parser), a
    plain one encrypted; one that cannot be either stays as it is."""
    from protocol.sm4 import Sm4FormatError, decrypt_segment, encrypt_segment, sm4_for

    sm4 = sm4_for(FUZZ_KEY)
    try:
        if b"CP=&&{" in segment:
            return decrypt_segment(segment, sm4), segment
        return segment, encrypt_segment(segment, sm4)
    except (Sm4FormatError, ValueError):
        return segment, segment


def cuts_for(stream: bytes, plan: int) -> list[int]:
    """Where the chunked pass splits the stream into ``feed()`` calls."""
    n = len(stream)
    if plan == 0 or n == 0:
        return []
    if plan == BYTEWISE_PLAN:
        return list(range(1, min(n, BYTEWISE_MAX)))
    rng = random.Random(plan)
    cuts = {rng.randrange(n + 1) for _ in range(1 + plan % 7)}
    if plan & LINEWISE:
        pos = stream.find(b"\n")
        while pos >= 0:
            cuts.add(pos + 1)
            pos = stream.find(b"\n", pos + 1)
    return sorted(cuts)


# -- the target --------------------------------------------------------------------------


class FuzzTarget:
    """One input → two decodes (whole, chunked), every property touched, round trips.

    ``catch``: record exceptions in the tally and go on (else they propagate, so that
    libFuzzer treats them as crashes).  :class:`InvariantViolation` always propagates.
    """

    def __init__(
        self,
        tally: Tally,
        *,
        rss_cap_mb: float = DEFAULT_RSS_CAP_MB,
        rss_every: int = 1000,
        catch: bool = True,
    ) -> None:
        import protocol
        from protocol import decoder as decoder_module

        self.p = protocol
        self.cap = decoder_module.HARD_CAP + 12 + 1
        self.tally = tally
        self.rss_cap_mb = rss_cap_mb
        self.rss_every = rss_every
        self.catch = catch
        #: as ``envgrid decode`` serialises events (protocol/cli_decode.py)
        self.dumps: Callable[[Any], str] = lambda obj: json.dumps(obj, ensure_ascii=False)

    def __call__(self, data: bytes) -> None:
        tally = self.tally
        tally.inputs += 1
        started = time.perf_counter()
        try:
            self.one(data)
        except InvariantViolation:
            raise
        except Exception as exc:
            if not self.catch:
                raise
            tally.crash(exc, data)
        elapsed = time.perf_counter() - started
        tally.max_input_s = max(tally.max_input_s, elapsed)
        if tally.inputs % self.rss_every == 0:
            self.check_memory()

    def check_memory(self) -> None:
        current = rss_mb()
        self.tally.peak_rss_mb = max(self.tally.peak_rss_mb, current)
        if current > self.rss_cap_mb:
            raise InvariantViolation(f"RSS {current:.0f} MB above the cap {self.rss_cap_mb} MB")

    # -- decoding ------------------------------------------------------------------------
    def decoder(self, opts: int) -> Decoder:
        p = self.p
        decoder: Decoder = p.Decoder(
            role=p.Role.STATION if opts & STATION else p.Role.PLATFORM,
            max_length=p.HARD_CAP if opts & MAXLEN else p.STANDARD_MAX_LENGTH,
            lenient_terminator=bool(opts & LENIENT),
            modbus_tolerant=bool(opts & MODBUS),
            sm4_keys=fuzz_keys if opts & SM4 else None,
        )
        return decoder

    def decode(self, opts: int, stream: bytes, cuts: Sequence[int]) -> list[Event]:
        decoder = self.decoder(opts)
        events: list[Event] = []
        pieces = [stream[a:b] for a, b in zip((0, *cuts), (*cuts, len(stream)), strict=True)]
        if opts & H11_API:
            for piece in pieces:
                if piece:  # b"" would mean end of stream
                    decoder.receive_data(piece)
                    self.check_buffer(decoder)
                    events += self.drain(decoder)
            decoder.receive_data(b"")
            events += self.drain(decoder)
        else:
            for piece in pieces:
                events += decoder.feed(piece)
                self.check_buffer(decoder)
            events += decoder.close()
        if decoder.buffered:
            raise InvariantViolation(f"{decoder.buffered} bytes still buffered after close()")
        return events

    def drain(self, decoder: Decoder) -> list[Event]:
        out: list[Event] = []
        while True:
            event = decoder.next_event()
            if event is self.p.NEED_DATA:
                return out
            assert not isinstance(event, self.p.NeedData)
            out.append(event)

    def check_buffer(self, decoder: Decoder) -> None:
        held = decoder.buffered
        self.tally.max_buffered = max(self.tally.max_buffered, held)
        if held > self.cap:
            raise InvariantViolation(f"decoder buffers {held} bytes (cap {self.cap})")

    def one(self, data: bytes) -> None:
        if len(data) < 2:
            return
        p = self.p
        opts, plan, stream = data[0], data[1], data[2:]
        if opts & REPAIR:
            stream = repair(stream, p.crc16, sm4_seal if opts & SM4 else None)
        self.tally.streams_bytes += len(stream)
        whole = self.decode(opts, stream, ())
        chunked = self.decode(opts, stream, cuts_for(stream, plan))
        for event in whole:
            self.touch(event)
        for event in chunked:
            self.touch(event)
        accepted = [e for e in whole if isinstance(e, p.Frame)]
        if [e.raw for e in accepted] != [e.raw for e in chunked if isinstance(e, p.Frame)]:
            self.tally.finding("frames_depend_on_chunking", data)
        for frame in accepted:
            self.round_trips(opts, frame, data)

    def touch(self, event: Event) -> None:
        p = self.p
        tally = self.tally
        if isinstance(event, p.FrameError):
            assert isinstance(event.code, p.ErrorCode) and isinstance(event.offset, int)
            tally.frame_errors[event.code.value] += 1
            self.dumps(event.to_json())
            return
        assert isinstance(event, p.Frame), type(event)
        tally.frames += 1
        tally.kinds[event.kind] += 1
        _ = (event.qn, event.st, event.pw, event.mn, event.pnum, event.pno)
        _ = (event.ack_requested, event.is_split, event.effective_qn)
        for code, fields in event.values.items():
            assert isinstance(code, str)
            dict(fields)
        _ = (event.fields, event.legacy_codes, event.data_time)
        if isinstance(event, p.Reply):
            _ = (event.request_qn, event.qn_rtn, event.exe_rtn, event.acked_cn)
        self.dumps(event.to_json())

    # -- round trips ---------------------------------------------------------------------
    def round_trips(self, opts: int, frame: Frame, data: bytes) -> None:
        p = self.p
        tally = self.tally
        if not frame.notes:
            self.reframe(opts, frame, data)
        if frame.encrypted:
            self.re_encrypt(opts, frame, data)
        if (
            (frame.flag is not None and frame.flag > 255)
            or frame.cn > 9999
            or (frame.pnum or 0) > 9999
            or (frame.pno or 0) > 9999
        ):  # the fast path reads at most 3 digits of Flag, 4 of CN/PNUM/PNO
            tally.finding("head_number_out_of_range", data)
        fields = frame.fields
        expected_time = fields.get("DataTime") or fields.get("DataT")
        if frame.data_time != expected_time:
            tally.finding("data_time_differs_from_fields", data)
        try:
            if opts & STATION:
                if not isinstance(frame, p.Reply):
                    answer = p.encode_request_answer(
                        qn=frame.qn, mn=frame.mn, pw=frame.pw, edition=frame.edition
                    )
                    self.check_answer(answer, 9011, frame.qn, frame, data)
                return
            if isinstance(frame, p.Reply):
                return
            self.check_answer(p.encode_data_ack(frame), 9014, frame.effective_qn, frame, data)
            if isinstance(frame, p.Notification):
                ack = p.encode_notify_ack(frame)
                self.check_answer(ack, 9013, frame.effective_qn, frame, data)
            if isinstance(frame, p.DataUpload) and frame.values and not frame.legacy_codes:
                self.rebuild_upload(frame, data)
        except p.EncodeError:
            tally.encode_refused += 1

    def reframe(self, opts: int, frame: Frame, data: bytes) -> None:
        p = self.p
        raw = frame.raw
        body = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
        segment = body[6:-4]
        again = p.encode_frame(segment.decode("utf-8"))
        if again[:-6] != body[:-4] or again[-6:-2] != body[-4:].upper():
            self.tally.finding("reframe_differs", data)
            return
        events = self.decoder(opts & ~LENIENT).feed(again)
        if len(events) != 1 or not _same_frame(events[0], frame):
            self.tally.finding("reframed_decodes_differently", data)

    def re_encrypt(self, opts: int, frame: Frame, data: bytes) -> None:
        """An encrypted frame encrypted again with the key that opened it (``raw`` is the
        plaintext frame) decodes to the same frame."""
        from protocol.sm4 import Sm4FormatError, encrypt_frame

        key = FUZZ_PREVIOUS_KEY if "sm4_previous_key" in frame.notes else FUZZ_KEY
        try:
            again = encrypt_frame(frame.raw, key)
        except Sm4FormatError:
            self.tally.finding("sm4_plaintext_not_re_encryptable", data)
            return
        events = self.decoder(opts & ~LENIENT).feed(again)
        if len(events) != 1 or not _same_frame(events[0], frame):
            self.tally.finding("sm4_re_encrypted_decodes_differently", data)

    def check_answer(
        self, answer: bytes, cn: int, qn: str | None, frame: Frame, data: bytes
    ) -> None:
        p = self.p
        role = p.Role.PLATFORM if cn in (9011, 9012) else p.Role.STATION
        events = p.Decoder(role=role, max_length=p.HARD_CAP).feed(answer)
        if len(events) != 1 or not isinstance(events[0], p.Reply) or events[0].cn != cn:
            self.tally.finding(f"answer_{cn}_undecodable", data)
            return
        reply = events[0]
        if qn is not None and _QN_RE.fullmatch(qn) and reply.request_qn != qn:
            self.tally.finding(f"answer_{cn}_loses_qn", data)
        mn = frame.mn
        if reply.edition != "2005" and mn and _MN_RE.fullmatch(mn) and reply.mn != mn:
            self.tally.finding(f"answer_{cn}_loses_mn", data)

    def rebuild_upload(self, frame: Frame, data: bytes) -> None:
        p = self.p
        again = p.encode_upload(
            frame.cn,
            st=frame.st or "22",
            mn=frame.mn or "MN",
            pw=frame.pw or "",
            edition="2005" if frame.edition == "2005" else "2017",
            qn=frame.qn,
            data_time=frame.data_time,
            values=frame.values,
        )
        events = p.Decoder(max_length=p.HARD_CAP).feed(again)
        if len(events) != 1 or not isinstance(events[0], p.DataUpload):
            self.tally.finding("rebuilt_upload_undecodable", data)
            return
        got = {k: dict(v) for k, v in events[0].values.items()}
        if got != {k: dict(v) for k, v in frame.values.items()}:
            self.tally.finding("rebuilt_upload_loses_values", data)


def _same_frame(event: Event, frame: Frame) -> bool:
    return (
        type(event) is type(frame)
        and isinstance(event, type(frame))
        and (event.edition, event.cn, event.flag, dict(event.head), event.cp)
        == (frame.edition, frame.cn, frame.flag, dict(frame.head), frame.cp)
    )


def fuzz_result(
    *,
    engine: str,
    requested: int,
    executed: int,
    elapsed: float,
    tally: Tally,
    seeds: int,
    fatal: list[str],
    extra: dict[str, Any],
) -> dict[str, Any]:
    from protocol.decoder import HARD_CAP

    crashes = [
        {"signature": sig, **entry}
        for sig, entry in sorted(tally.crashes.items(), key=lambda kv: -kv[1]["count"])
    ]
    return {
        "scenario": "fuzz",
        "engine": engine,
        "inputs_requested": requested,
        "inputs": executed,
        "seconds": round(elapsed, 1),
        "inputs_per_s": round(executed / elapsed) if elapsed > 0 else None,
        "seeds": seeds,
        "ok": not fatal and not crashes and executed >= requested,
        "crashes": crashes,
        "crash_inputs": sum(c["count"] for c in crashes),
        "fatal": fatal,
        "findings": dict(tally.findings),
        "finding_samples_hex": tally.samples,
        "buffer_cap": HARD_CAP + 12 + 1,
        "max_buffered": tally.max_buffered,
        "max_input_s": round(tally.max_input_s, 4),
        "peak_rss_mb": round(tally.peak_rss_mb, 1),
        "frames": tally.frames,
        "frame_kinds": dict(tally.kinds),
        "frame_errors": dict(tally.frame_errors),
        "encode_refused": tally.encode_refused,
        "stream_bytes": tally.streams_bytes,
        "target_calls": tally.inputs,
        "python": sys.version.split()[0],
        **extra,
    }
