"""The fuzz seeds: the HJ 212 sample frames and corpus lines, their deterministic
mutations, and the dictionary of tokens both engines insert (see :mod:`bench.fuzz`)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Final

from bench.fuzz_target import (
    BYTEWISE_PLAN,
    FUZZ_KEY,
    FUZZ_PREVIOUS_KEY,
    H11_API,
    LENIENT,
    LINEWISE,
    MAXLEN,
    MODBUS,
    REPAIR,
    SM4,
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
    # HJ 212-2025
    b"CP=&&{",
    b"0x",
    b",0x",
    b"}",
    b";RF=1",
    b"Flag=8",
    b"Flag=10",
    b"Flag=11",
    b"9015",
    b"1014",
    b"2111",
    b"NewSK=",
    b"SKCreateTime=",
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


def vector_frames() -> list[bytes]:
    """The HJ 212-2025 vectors (``vectors_2025.json``: appendix A.1/A.2, appendix C; key
    ``0000000000000000`` = :data:`FUZZ_KEY`)."""
    vectors = json.loads(_data_file("vectors_2025.json").read_text("utf-8"))["vectors"]
    return [v["frame"].encode("utf-8") for v in vectors]


def frames_2025() -> list[tuple[int, bytes]]:
    """HJ 212-2025 frames built by the encoders: (opts, frame) — uploads plain, encrypted
    (with the current and the previous key), backfilled, split; heartbeat; replies; an
    encrypted history request and a 1014 key change (station side)."""
    from protocol import encode_reply, encode_request, encode_upload

    values = {
        "a21026": {"Rtd": "8.0", "Flag": "N"},
        "a21004": {"Rtd": "35.2", "Flag": "N"},
        "a34004": {"Rtd": "35.0", "Flag": "N"},
    }
    mn = "010000A8900016F000169DC0"
    qn, dt = "20260601085857223", "20260601085800"
    up = partial(encode_upload, st="22", mn=mn, pw="123456", edition="2025", qn=qn)
    key, previous = FUZZ_KEY, FUZZ_PREVIOUS_KEY
    out: list[tuple[int, bytes]] = [
        (0, up(2011, data_time=dt, values=values)),
        (SM4, up(2011, data_time=dt, values=values, sm4_key=key)),
        (SM4, up(2051, data_time=dt, values=values, sm4_key=previous)),
        (SM4, up(2061, data_time=dt, values=values, backfill=True, sm4_key=key)),
        (0, up(2061, data_time=dt, values=values, backfill=True)),
        (SM4, up(2011, data_time=dt, values=values, pnum=2, pno=1, sm4_key=key)),
        (SM4, up(2111, data_time=dt, values={"a01901": {"Avg": "868"}}, sm4_key=key)),
        (SM4, up(3020, fields=[("DataTime", dt), ("i12001-Info", 0)], ack=False, sm4_key=key)),
        (0, up(9015)),
        (SM4, up(2011, data_time=dt, values={"a21026": {"Rtd": "8"}}, sm4_key=key)),  # tail only
    ]
    for cn in (9011, 9012, 9013, 9014):
        reply = encode_reply(cn, qn=qn, mn=mn, pw="123456", edition="2025", cp=())
        out.append((STATION, reply))
    request = partial(
        encode_request, qn=qn, st="22", mn=mn, pw="123456", edition="2025", sm4_key=key
    )
    window = {"BeginTime": "20260601000000", "EndTime": "20260601080000"}
    out.append((STATION | SM4, request(2061, cp=window)))
    key_change = [("SKCreateTime", qn), ("NewSK", "1234567890ABCDEF")]
    out.append((STATION | SM4, request(1014, cp=key_change)))
    return out


def _sm4_variants(frame: bytes) -> Iterable[tuple[int, int, bytes]]:
    """Broken ciphertext of an encrypted frame: (opts, plan, stream)."""
    open_at = frame.find(b"CP=&&{")
    close = frame.find(b"}", open_at)
    if open_at < 0 or close < 0:
        return
    inner = frame[open_at + 6 : close]
    n = len(frame)
    yield 0, 0, frame  # no key: sm4_no_key
    yield SM4, 3, frame[: open_at + 6 + len(inner) // 2]  # cut inside the braces
    flipped = inner[:2] + (b"1" if inner[2:3] != b"1" else b"2") + inner[3:]
    yield SM4, 0, frame[: open_at + 6] + flipped + frame[close:]  # one nibble: CRC fails
    yield SM4 | REPAIR, 0, frame[: open_at + 6] + flipped + frame[close:]  # … CRC repaired
    yield SM4, 0, frame[: open_at + 6] + inner[5:] + frame[close:]  # a byte short of a block
    yield SM4, 0, frame[: open_at + 6] + inner + frame[close + 1 :]  # no closing brace
    yield SM4, 0, frame[: open_at + 6] + inner.replace(b"0x", b"0X", 3) + frame[close:]
    yield SM4, 0, frame[: open_at + 6] + b"0xZZ" + inner[4:] + frame[close:]
    yield SM4, 0, frame[: open_at + 6] + inner.replace(b",", b", ", 2) + frame[close:]
    yield SM4, 0, frame[: open_at + 6] + inner + b"," + inner + frame[close:]  # twice as long
    yield SM4, 0, frame[: open_at + 6] + b"}" + frame[close + 1 :]  # empty braces
    wire_len = len(frame) - 12
    yield SM4, 0, b"##%04d" % wire_len + frame[6:] if wire_len <= 9999 else frame  # LLLL = wire
    yield SM4 | MAXLEN, 5, frame[:-2] + frame  # two glued
    yield SM4, LINEWISE | 1, frame[: n // 2] + b"\r\n" + frame[n // 2 :]


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
    # HJ 212-2025: the vectors and encoder-built frames, plain and SM4-encrypted, with the
    # keys (SM4) and without; broken ciphertext; mutations of the plaintext re-encrypted
    built = [(SM4, v) for v in vector_frames()] + [(SM4 | STATION, v) for v in vector_frames()]
    built += frames_2025()
    for opts, frame in built:
        for plan in (0, 3, LINEWISE):
            seeds.append(bytes((opts, plan)) + frame)
        seeds.append(bytes((opts | REPAIR, 9)) + frame)
        seeds += [bytes((o | opts, plan)) + stream for o, plan, stream in _variants(frame)]
        keyless = opts & ~SM4  # each broken variant says itself whether keys are given
        seeds += [bytes((o | keyless, p)) + stream for o, p, stream in _sm4_variants(frame)]
    return list(dict.fromkeys(seeds))
