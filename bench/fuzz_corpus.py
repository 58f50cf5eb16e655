"""The fuzz seeds: the HJ 212 sample frames and corpus lines, their deterministic
mutations, and the dictionary of tokens both engines insert (see :mod:`bench.fuzz`)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from bench.fuzz_target import (
    BYTEWISE_PLAN,
    H11_API,
    LENIENT,
    LINEWISE,
    MAXLEN,
    MODBUS,
    REPAIR,
    STATION,
)

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
DATA_DIR: Final = REPO_ROOT / "tests" / "data" / "hj212"
SHARED_DIR: Final = REPO_ROOT.parent / "shared" / "hj212"

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
