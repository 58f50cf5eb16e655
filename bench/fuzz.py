"""Coverage-guided fuzzing of the HJ 212 codec (framer + parser + encoders' round trip).

``python -m bench.fuzz [--inputs N] [--json OUT]`` (default 1,000,000 inputs) — the opt-in
bench scenario behind the issue's "hostile input held"; ``tests/security/test_fuzz.py``
runs a short, deterministic slice of the same target in ``make test``.

Theory of operation
-------------------
*Engines.*  ``atheris`` (default when installed): libFuzzer drives the target in a child
process (``python -m bench.fuzz --worker CONFIG``) with the ``protocol`` package
instrumented (``atheris.instrument_imports``), so inputs that reach new edges of the codec
are kept and mutated further; a libFuzzer dictionary of HJ 212 tokens helps it past the
``##LLLL``/``CP=&&`` grammar.  ``random``: a deterministic, uninstrumented mutation engine
over the same seeds and dictionary (no extra package; what the fast test uses).

*One input* is ``opts`` (1 byte) + ``plan`` (1 byte) + the stream:

* ``opts`` bits: role STATION (else PLATFORM), lenient terminator, MODBUS-tolerant,
  ``max_length`` = ``HARD_CAP`` (else 1024), *repair* (every ``##dddd…CRLF`` region gets
  its LLLL and CRC recomputed, so mutations reach the parser instead of dying at the
  CRC check), h11-style API (``receive_data``/``next_event``) for the chunked pass;
* ``plan`` chooses how the stream is cut into ``feed()`` calls: a few cut points from a
  PRNG seeded by ``plan``, plus a cut after every LF when bit 7 is set (line-wise TCP
  reads); 255 feeds byte by byte (short streams only).

*Invariants* (h11's ``fuzz/afl-server.py``, plus the codec's contracts):

1. fatal — an exception escaping ``feed``/``close``/``receive_data``/``next_event``, any
   lazily parsed property (``values``, ``fields``, ``legacy_codes``, ``data_time``,
   ``effective_qn``, ``pnum`` …, Reply's ``request_qn``/``qn_rtn``/``exe_rtn``/``acked_cn``),
   ``to_json()`` (and ``json.dumps`` of it, as ``envgrid decode`` does), or an encoder
   raising anything but ``EncodeError``; ``Decoder.buffered`` above ``HARD_CAP + 12 + 1``
   after any feed; the process RSS above the cap (checked every ``rss_every`` inputs); an
   input running past libFuzzer's ``-timeout`` (a hang).  Exceptions are recorded with a
   signature (type + innermost project frame) and the input, and fuzzing goes on
   (``--stop-on-crash`` hands them to libFuzzer instead, which stops and writes
   ``crash-*``); the other fatal ones stop it.
2. findings (counted, three samples kept, the run goes on) — the same stream fed whole
   and in chunks yields different accepted frames; a clean frame re-framed by
   ``encode_frame`` differs from what was received, or does not decode to the same frame;
   the 9014/9013/9011 answer built for a frame does not decode to exactly one Reply echoing
   a well-formed QN/MN; a data upload rebuilt by ``encode_upload`` loses values;
   ``data_time`` disagrees with ``fields['DataTime']``; a head number beyond what the fast
   path reads (Flag > 255, CN/PNUM/PNO > 9999: they overflow the ledger's smallint).

*Seeds*: every frame of ``tests/data/hj212/samples.json`` and every line of
``tests/data/hj212/virt2017.txt`` (copies of ../shared/hj212/), under several option
bytes, plus deterministic mutations of the sample frames (truncated, garbage around,
lower-case / unpadded / MODBUS CRC, LF only, wrong LLLL, oversize, glued frames, a
9999-byte claim, GB 18030 text).

Figures: inputs executed, coverage (libFuzzer ``cov`` edges and ``ft`` features, corpus
size), inputs/s, time, peak RSS, crashes, findings, the largest buffer seen.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # the codec is imported lazily: the atheris worker instruments it first
    from protocol import Decoder, Event, Frame

__all__ = [
    "DEFAULT_INPUTS",
    "FuzzTarget",
    "InvariantViolation",
    "Tally",
    "main",
    "repair",
    "run",
    "run_random",
    "seed_corpus",
]

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
DATA_DIR: Final = REPO_ROOT / "tests" / "data" / "hj212"
SHARED_DIR: Final = REPO_ROOT.parent / "shared" / "hj212"
DEFAULT_INPUTS: Final = 1_000_000
#: libFuzzer's -max_len: above HARD_CAP + 12 so the buffer cap itself is exercised.
DEFAULT_MAX_LEN: Final = 12_000
DEFAULT_TIMEOUT_S: Final = 10
DEFAULT_RSS_CAP_MB: Final = 1024

# opts bits (first input byte)
STATION: Final = 0x01
LENIENT: Final = 0x02
MODBUS: Final = 0x04
MAXLEN: Final = 0x08
REPAIR: Final = 0x10
H11_API: Final = 0x20
#: plan bit: cut after every LF (line-wise reads)
LINEWISE: Final = 0x80
BYTEWISE_PLAN: Final = 255
BYTEWISE_MAX: Final = 512

#: Tokens for libFuzzer's -dict and the random engine's inserts: the grammar, common
#: values, and hostile text (non-ASCII digits, NUL, invalid UTF-8).
DICTIONARY: Final[tuple[bytes, ...]] = (
    b"##",
    b"\r\n",
    b"\n",
    b"\r",
    b"CP=&&",
    b"&&",
    b";",
    b",",
    b"=",
    b"-",
    b"//",
    b"QN=",
    b"ST=",
    b"CN=",
    b"PW=",
    b"MN=",
    b"Flag=",
    b"PNUM=",
    b"PNO=",
    b"DataTime=",
    b"DataT=",
    b"QnRtn=",
    b"ExeRtn=",
    b"PolId=",
    b"-Rtd=",
    b"-Flag=N",
    b"-Avg=",
    b"-Info=",
    b"SB1-RS=",
    b"20240301120000123",
    b"20240301120000",
    b"2011",
    b"2051",
    b"2061",
    b"2031",
    b"2021",
    b"1013",
    b"2072",
    b"3020",
    b"8013",
    b"9011",
    b"9012",
    b"9013",
    b"9014",
    b"Flag=4",
    b"Flag=5",
    b"Flag=7",
    b"Flag=9",
    b"##0000",
    b"##1024",
    b"##1025",
    b"##9999",
    b"\xc2\xb2",  # ² (isdigit() but not int())
    b"\xd9\xa3",  # ٣ Arabic-Indic digit
    b"\xef\xbc\x91",  # １ fullwidth digit
    b"\x00",
    b"\xff\xfe",
    b"\xe4\xb8\xad",  # 中
    b"\xd6\xd0",  # 中 in GB 18030
)

_PAGE: Final = os.sysconf("SC_PAGE_SIZE")
_SAMPLES_PER_FINDING: Final = 3
_QN_RE: Final = re.compile(r"[0-9]{17}")
_MN_RE: Final = re.compile(r"[0-9A-Za-z]{1,24}")
_PROGRESS_RE: Final = re.compile(
    r"^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+) corp: (\d+)/(\S+).*?exec/s: (\d+) rss: (\d+)Mb"
)
_STAT_RE: Final = re.compile(r"^stat::(\w+):\s+(\d+)")
_PROJECT_PACKAGES: Final = frozenset({"protocol", "bench"})


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


def repair(stream: bytes, crc: Callable[[bytes], int]) -> bytes:
    """Give every ``##dddd…CRLF`` region the right LLLL and CRC (others left as they are)."""
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
        out += b"##%04d%b%04X\r\n" % (len(segment), segment, crc(segment))
        pos = end + 2
    out += stream[pos:]
    return bytes(out)


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
            stream = repair(stream, p.crc16)
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


# -- seeds -------------------------------------------------------------------------------


def _data_file(name: str) -> Path:
    local = DATA_DIR / name
    if local.exists():
        return local
    shared = SHARED_DIR / ("corpus/" + name if name.endswith(".txt") else name)
    return shared


def sample_frames() -> list[bytes]:
    samples = json.loads(_data_file("samples.json").read_text("utf-8"))
    return [entry["frame"].encode("utf-8") for entry in samples]


def corpus_lines() -> list[bytes]:
    text = _data_file("virt2017.txt").read_bytes()
    return [line.rstrip(b"\r") for line in text.split(b"\n") if line.strip()]


def _crc(segment: bytes) -> int:
    from protocol.crc import crc16

    return crc16(segment)


def _frame(segment: bytes, crc: int | None = None) -> bytes:
    return b"##%04d%b%04X\r\n" % (len(segment), segment, _crc(segment) if crc is None else crc)


def _variants(frame: bytes) -> Iterable[tuple[int, int, bytes]]:
    """Deterministic mutations of one well-formed frame: (opts, plan, stream)."""
    from protocol.crc import crc16_modbus

    if not frame.endswith(b"\r\n") or len(frame) < 12:
        return
    segment = frame[6:-6]
    n = len(frame)
    yield 0, 0, frame[: n // 2]  # truncated
    yield 0, 3, b"garbage \x00\xff" + frame + b"trailing"  # garbage around
    yield 0, 0, frame[:-6] + frame[-6:-2].lower() + b"\r\n"  # lower-case CRC
    yield LENIENT, LINEWISE, frame[:-2] + b"\n"  # LF only
    yield LENIENT, 0, frame[:-2]  # no terminator at all (file mode)
    yield 0, 0, frame[:2] + b"%04d" % (len(segment) + 1) + frame[6:]  # LLLL off by one
    yield 0, 0, frame[:-6] + b"%04X" % (int(frame[-6:-2], 16) ^ 0x0101) + b"\r\n"  # bad CRC
    modbus = crc16_modbus(segment)
    yield MODBUS, 0, frame[:-6] + b"%04X\r\n" % ((modbus & 0xFF) << 8 | modbus >> 8)
    crc = _crc(segment)
    if crc < 0x1000:
        yield 0, 0, frame[:-6] + b"%X\r\n" % crc  # CRC without zero padding
    yield 0, 5, frame[:-2] + frame  # two frames glued, no CRLF between
    yield 0, LINEWISE | 1, frame[:20] + b"\r\n" + frame[20:]  # CRLF inside the frame
    yield REPAIR, LINEWISE | 2, frame[:40] + b"\r\n" + frame[40:]  # ... with a right LLLL
    yield 0, 0, frame[:10] + b"##" + frame[10:]  # '##' inside the head
    padded = segment.replace(b"&&", b";i12001-Info=//" + b"x" * 1500 + b"//&&", 1)
    yield 0, 0, _frame(padded)  # oversize (> 1024)
    yield MAXLEN, 0, _frame(padded)  # oversize, accepted
    yield 0, 0, b"##9999" + segment[:200]  # a 9999-byte claim, never terminated
    text = segment.decode("utf-8", errors="replace")
    yield REPAIR, 0, _frame(text.replace("MN=", "MN=中", 1).encode("gb18030"))
    chars = text.replace("CP=&&", "CP=&&i12001-Info=//温度//;", 1).encode("utf-8")
    yield 0, 0, b"##%04d" % len(chars.decode("utf-8")) + chars + b"%04X\r\n" % _crc(chars)


def seed_corpus() -> list[bytes]:
    """Every sample frame and every line of virt2017.txt, plus mutations (deduplicated)."""
    samples = sample_frames()
    seeds: list[bytes] = []
    for frame in samples:
        for opts, plan in ((0, 0), (REPAIR, 3), (STATION, LINEWISE), (LENIENT | H11_API, 5)):
            seeds.append(bytes((opts, plan)) + frame)
        seeds += [bytes((opts, plan)) + stream for opts, plan, stream in _variants(frame)]
    for a, b in itertools.pairwise(samples):
        seeds.append(bytes((REPAIR, 9)) + a + b"\r\n \x00" + b)  # a stream of two frames
    seeds.append(bytes((0, BYTEWISE_PLAN)) + samples[0])
    # the buffer cap: claims of 9999 and 500 bytes, never terminated, 10,050 bytes long
    for claim in (b"##9999", b"##0500", b"##1025"):
        seeds.append(bytes((MAXLEN, 3)) + claim + b"QN=1;" + b"x" * 10_050)
        seeds.append(bytes((LENIENT, 6)) + claim + b"\r" * 10_050)
    for k, line in enumerate(corpus_lines()):
        seeds.append(bytes((0, k % 16)) + line + b"\r\n")
    return list(dict.fromkeys(seeds))


# -- the random engine --------------------------------------------------------------------


def mutate(data: bytes, rng: random.Random, seeds: Sequence[bytes]) -> bytes:
    """1–4 random edits: flip, delete, insert a token, duplicate, splice, new opts/plan."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        i = rng.randrange(len(b) + 1)
        if op == 0 and len(b) > 2:
            b[rng.randrange(2, len(b))] ^= 1 << rng.randrange(8)
        elif op == 1:
            del b[i : i + rng.randint(1, 16)]
        elif op == 2:
            b[i:i] = rng.choice(DICTIONARY)
        elif op == 3:
            b[i:i] = b[i : i + rng.randint(1, 64)]
        elif op == 4:
            other = rng.choice(seeds)
            j = rng.randrange(len(other) + 1)
            b[i:] = other[j:]
        elif op == 5 and b:
            b[0] = rng.randrange(64)
        elif op == 6 and len(b) > 1:
            b[1] = rng.randrange(256)
        else:
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    if len(b) >= 1 and rng.random() < 0.5:
        b[0] |= REPAIR
    return bytes(b[:DEFAULT_MAX_LEN])


def run_random(
    inputs: int,
    *,
    seed: int = 0,
    rss_cap_mb: float = DEFAULT_RSS_CAP_MB,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The deterministic mutation engine, in this process (no coverage feedback)."""
    seeds = seed_corpus()
    tally = Tally()
    target = FuzzTarget(tally, rss_cap_mb=rss_cap_mb)
    rng = random.Random(seed)
    started = time.perf_counter()
    stopped = ""
    try:
        for k in range(inputs):
            data = seeds[k] if k < len(seeds) else mutate(rng.choice(seeds), rng, seeds)
            target(data)
            if progress is not None and k and k % 100_000 == 0:
                progress(f"{k:,} inputs, {k / (time.perf_counter() - started):,.0f}/s")
    except InvariantViolation as exc:
        stopped = str(exc)
    elapsed = time.perf_counter() - started
    if not stopped:
        target.check_memory()
    return _result(
        engine="random (deterministic mutation, no coverage feedback)",
        requested=inputs,
        executed=tally.inputs,
        elapsed=elapsed,
        tally=tally,
        seeds=len(seeds),
        fatal=[stopped] if stopped else [],
        extra={"seed": seed, "rss_cap_mb": rss_cap_mb},
    )


# -- the atheris engine -------------------------------------------------------------------


def atheris_available() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def _dictionary_file(path: Path) -> None:
    lines = []
    for k, token in enumerate(DICTIONARY):
        escaped = "".join(
            chr(c) if 0x20 <= c < 0x7F and c not in (0x22, 0x5C) else f"\\x{c:02X}" for c in token
        )
        lines.append(f'tok{k}="{escaped}"')
    path.write_text("\n".join(lines) + "\n")


def _worker(config_path: str) -> None:
    """The libFuzzer process: instrument ``protocol``, then fuzz until -runs."""
    import atheris

    config = json.loads(Path(config_path).read_text())
    if any(name == "protocol" or name.startswith("protocol.") for name in sys.modules):
        raise RuntimeError("protocol was imported before instrumentation")
    with atheris.instrument_imports(include=["protocol"]):
        import protocol.decoder  # noqa: F401  (instrumented: the whole package)

    tally = Tally()
    target = FuzzTarget(tally, rss_cap_mb=config["rss_cap_mb"], catch=not config["stop_on_crash"])
    stats = Path(config["stats"])
    total = config["inputs"]

    def dump() -> None:
        tmp = stats.with_suffix(".tmp")
        tmp.write_text(json.dumps(tally.to_json()))
        tmp.replace(stats)

    def one_input(data: bytes) -> None:
        try:
            target(data)
        except InvariantViolation:
            dump()
            raise
        if tally.inputs % 10_000 == 0 or tally.inputs >= total - 1:
            dump()

    atheris.Setup([sys.argv[0], *config["libfuzzer_args"]], one_input)
    atheris.Fuzz()


@dataclass
class _LibFuzzerLog:
    #: the last status line (#runs, cov, ft, corp, exec/s, rss)
    last: dict[str, Any] = field(default_factory=dict)
    #: -print_final_stats=1 (stat::number_of_executed_units …)
    final: dict[str, int] = field(default_factory=dict)
    tail: list[str] = field(default_factory=list)


def _read_log(stream: Iterable[str], progress: Callable[[str], None] | None) -> _LibFuzzerLog:
    log = _LibFuzzerLog()
    for line in stream:
        log.tail = [*log.tail[-40:], line.rstrip()]
        m = _PROGRESS_RE.match(line)
        if m:
            log.last = {
                "runs": int(m.group(1)),
                "event": m.group(2),
                "edges": int(m.group(3)),
                "features": int(m.group(4)),
                "corpus_units": int(m.group(5)),
                "corpus_size": m.group(6),
                "exec_per_s": int(m.group(7)),
                "rss_mb": int(m.group(8)),
            }
            if progress is not None and m.group(2) in ("pulse", "INITED", "DONE"):
                progress(line.strip())
            continue
        s = _STAT_RE.match(line)
        if s:
            log.final[s.group(1)] = int(s.group(2))
    return log


def run_atheris(
    inputs: int,
    *,
    max_len: int = DEFAULT_MAX_LEN,
    timeout_s: int = DEFAULT_TIMEOUT_S,
    rss_cap_mb: float = DEFAULT_RSS_CAP_MB,
    seed: int = 1,
    stop_on_crash: bool = False,
    keep_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """libFuzzer via atheris in a child process; parses its statistics."""
    import atheris

    work = Path(tempfile.mkdtemp(prefix="envgrid-fuzz-"))
    try:
        seeds_dir = work / "seeds"
        corpus_dir = work / "corpus"
        artifacts = work / "artifacts"
        for d in (seeds_dir, corpus_dir, artifacts):
            d.mkdir()
        seeds = seed_corpus()
        for data in seeds:
            (seeds_dir / hashlib.sha1(data).hexdigest()).write_bytes(data)
        _dictionary_file(work / "hj212.dict")
        config = {
            "inputs": inputs,
            "rss_cap_mb": rss_cap_mb,
            "stop_on_crash": stop_on_crash,
            "stats": str(work / "stats.json"),
            "libfuzzer_args": [
                str(corpus_dir),
                str(seeds_dir),
                f"-runs={inputs}",
                f"-max_len={max_len}",
                f"-timeout={timeout_s}",
                f"-rss_limit_mb={int(rss_cap_mb) + 512}",
                f"-dict={work / 'hj212.dict'}",
                f"-seed={seed}",
                f"-artifact_prefix={artifacts}/",
                "-print_final_stats=1",
                "-print_pcs=0",
            ],
        }
        (work / "config.json").write_text(json.dumps(config))
        started = time.perf_counter()
        with subprocess.Popen(
            [sys.executable, "-m", "bench.fuzz", "--worker", str(work / "config.json")],
            cwd=os.getcwd(),  # the same ``bench``/``protocol`` as this process
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        ) as proc:
            assert proc.stderr is not None
            try:
                log = _read_log(proc.stderr, progress)
            except BaseException:  # Ctrl-C: the worker goes too
                proc.kill()
                raise
            returncode = proc.wait()
        last, final, tail = log.last, log.final, log.tail
        elapsed = time.perf_counter() - started
        tally = Tally()
        stats_file = work / "stats.json"
        if stats_file.exists():
            raw = json.loads(stats_file.read_text())
            for key in ("frame_errors", "kinds", "findings"):
                raw[key] = Counter(raw[key])
            tally = Tally(**raw)
        fatal = []
        for path in sorted(artifacts.iterdir()):
            data = path.read_bytes()
            fatal.append(
                f"{path.name.split('-')[0]}: {base64.b64encode(data[:4096]).decode()}"
                f" ({len(data)} bytes)"
            )
        if returncode != 0:
            fatal.append(f"libFuzzer exited with {returncode}: " + "\n".join(tail[-15:]))
        executed = final.get("number_of_executed_units", last.get("runs", tally.inputs))
        result = _result(
            engine=f"atheris {_version('atheris')} (libFuzzer, protocol/ instrumented)",
            requested=inputs,
            executed=executed,
            elapsed=elapsed,
            tally=tally,
            seeds=len(seeds),
            fatal=fatal,
            extra={
                "coverage": {
                    "edges": last.get("edges"),
                    "features": last.get("features"),
                    "corpus_units": last.get("corpus_units"),
                    "corpus_size": last.get("corpus_size"),
                    "new_units_added": final.get("new_units_added"),
                },
                "libfuzzer": {
                    "exec_per_s": final.get("average_exec_per_sec"),
                    "slowest_unit_s": final.get("slowest_unit_time_sec"),
                    "peak_rss_mb": final.get("peak_rss_mb"),
                    "max_len": max_len,
                    "timeout_s": timeout_s,
                    "rss_limit_mb": int(rss_cap_mb) + 512,
                    "seed": seed,
                },
                "rss_cap_mb": rss_cap_mb,
                "atheris_build": str(getattr(atheris, "build_mode", "")),
            },
        )
        if keep_dir is not None:
            keep_dir.mkdir(parents=True, exist_ok=True)
            for name in ("corpus", "artifacts"):
                shutil.copytree(work / name, keep_dir / name, dirs_exist_ok=True)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def _result(
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


def run(
    inputs: int = DEFAULT_INPUTS,
    *,
    engine: str = "auto",
    progress: Callable[[str], None] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """The bench scenario (``envgrid bench fuzz`` once registered in bench/cli.py)."""
    if engine == "auto":
        engine = "atheris" if atheris_available() else "random"
    if engine == "atheris":
        return run_atheris(inputs, progress=progress, **options)
    options.pop("max_len", None)
    options.pop("timeout_s", None)
    options.pop("stop_on_crash", None)
    options.pop("keep_dir", None)
    return run_random(inputs, progress=progress, **options)


def report(result: dict[str, Any]) -> str:
    lines = [
        f"fuzz — {result['engine']}",
        f"  inputs     {result['inputs']:,} of {result['inputs_requested']:,}"
        f" in {result['seconds']} s ({result['inputs_per_s']:,}/s), {result['seeds']:,} seeds",
    ]
    cov = result.get("coverage")
    if cov:
        lines.append(
            f"  coverage   {cov['edges']} edges, {cov['features']} features,"
            f" corpus {cov['corpus_units']} units ({cov['corpus_size']})"
        )
    errors = sum(result["frame_errors"].values())
    lines.append(
        f"  frames     {result['frames']:,} accepted, errors {errors:,}"
        f"; max buffered {result['max_buffered']:,} (cap {result['buffer_cap']:,});"
        f" slowest input {result['max_input_s']} s; peak RSS {result['peak_rss_mb']} MB"
    )
    lines.append(f"  crashes    {result['crash_inputs']} inputs, {len(result['crashes'])} kinds")
    for crash in result["crashes"]:
        lines.append(f"    {crash['signature']} × {crash['count']}: {crash['input_hex'][:160]}")
    for name, count in sorted(result["findings"].items()):
        lines.append(f"  finding    {name}: {count}")
    for item in result["fatal"]:
        lines.append(f"  FATAL      {item[:400]}")
    lines.append("  OK" if result["ok"] else "  NOT OK")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__)
    parser.add_argument("--inputs", type=int, default=DEFAULT_INPUTS)
    parser.add_argument("--json", metavar="OUT", help="write the result as JSON")
    parser.add_argument("--engine", choices=["auto", "atheris", "random"], default="auto")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-len", type=int, default=DEFAULT_MAX_LEN)
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT_S, help="s per input")
    parser.add_argument("--rss-mb", type=float, default=DEFAULT_RSS_CAP_MB)
    parser.add_argument("--stop-on-crash", action="store_true")
    parser.add_argument("--keep", metavar="DIR", help="keep libFuzzer's corpus and artifacts")
    parser.add_argument("--worker", metavar="CONFIG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker)
        return 0
    options: dict[str, Any] = {"seed": args.seed, "rss_cap_mb": args.rss_mb}
    if args.engine != "random":
        options.update(
            max_len=args.max_len,
            timeout_s=args.timeout,
            stop_on_crash=args.stop_on_crash,
            keep_dir=Path(args.keep) if args.keep else None,
        )
    result = run(
        args.inputs,
        engine=args.engine,
        progress=lambda msg: print(msg, file=sys.stderr, flush=True),
        **options,
    )
    print(report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
