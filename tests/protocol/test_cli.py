"""``envgrid decode`` / ``envgrid encode``: the codec checked from outside."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from protocol import crc16_modbus, encode_request

from .vectors import CORPUS_FILE, VECTORS


def envgrid(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "envgrid", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


def lines(out: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.decode().splitlines()]


def test_decode_samples_from_stdin() -> None:
    stream = b"".join(raw for _, raw, _ in VECTORS)
    result = envgrid("decode", "--show-secrets", stdin=stream)
    assert result.returncode == 0, result.stderr
    objs = lines(result.stdout)
    assert len(objs) == len(VECTORS)
    for obj, (_, _, expected) in zip(objs, VECTORS, strict=True):
        for key, value in expected.items():
            assert obj[key] == value, (key, obj)


def test_decode_masks_passwords_unless_asked() -> None:
    """Issue 16, finding 1: ``envgrid decode`` output is pasted into tickets and chats; the
    station's PW (and a set-password command's NewPW) shows as ****** by default."""
    frame = encode_request(
        1072, qn="20261121100000001", st="32", mn="MN1", pw="old-pw", cp={"NewPW": "new-pw"}
    )
    masked = envgrid("decode", stdin=frame)
    assert b"old-pw" not in masked.stdout and b"new-pw" not in masked.stdout
    [obj] = lines(masked.stdout)
    assert obj["pw"] == "******" and obj["fields"]["NewPW"] == "******"
    [shown] = lines(envgrid("decode", "--show-secrets", stdin=frame).stdout)
    assert shown["pw"] == "old-pw" and shown["fields"]["NewPW"] == "new-pw"


def test_decode_corpus_file_one_frame_per_line(tmp_path: Path) -> None:
    result = envgrid("decode", str(CORPUS_FILE))
    objs = lines(result.stdout)
    assert len(objs) == 4503 and all(o["ok"] for o in objs)
    # the same file with CRLF line ends, and with no terminator on the last line
    data = CORPUS_FILE.read_bytes()
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(data.replace(b"\n", b"\r\n").rstrip(b"\r\n"))
    assert lines(envgrid("decode", str(crlf)).stdout) == objs


def test_decode_errors_in_input_order_with_offsets() -> None:
    good = VECTORS[0][1]
    bad = bytearray(good)
    bad[100] ^= 1
    modbus = crc16_modbus(good[6:-6])
    stream = (
        good
        + bytes(bad)
        + b"\x00\xffjunk"
        + good.replace(b"##0289", b"##0277")
        + good[:-6]
        + b"%04X\r\n" % (((modbus & 0xFF) << 8) | (modbus >> 8))
        + b"##0289"
        + good[6:200]
        + good
        + b"##1100"
        + b"x" * 1100
        + b"ABCD\r\n"
        + good
    )
    objs = lines(envgrid("decode", stdin=stream).stdout)
    assert [o["ok"] if o["ok"] else o["error"] for o in objs] == [
        True,
        "crc_mismatch",
        "garbage",
        "bad_length",
        "crc_mismatch",
        "truncated",
        True,
        "oversize",
        True,
    ]
    assert objs[1]["offset"] == len(good)
    assert objs[2]["offset"] == 2 * len(good)
    assert all("detail" in o for o in objs if not o["ok"])


def test_encode_ack_and_request() -> None:
    request = {"reply": "9014", "to": VECTORS[0][1].decode()}
    result = envgrid("encode", stdin=json.dumps(request).encode())
    assert result.returncode == 0, result.stderr
    assert result.stdout == VECTORS[1][1]
    cmd = {
        "cn": 1062,
        "st": "32",
        "mn": "010000A8900016F000169DC0",
        "pw": "100000",
        "qn": "20160801085857223",
        "cp": {"RtdInterval": 30},
    }
    assert envgrid("encode", "--json", json.dumps(cmd)).stdout == VECTORS[18][1]
    assert envgrid("encode", "--json", '{"cn": 1062}').returncode == 2


def test_help_lists_subcommands() -> None:
    out = envgrid("--help").stdout.decode()
    for name in ("serve", "simulate", "bench", "decode", "encode", "aqi", "db"):
        assert name in out


def test_encode_and_decode_hj212_2025() -> None:
    """`envgrid encode` builds an encrypted 2025 upload (RF=1) and the 2025 answer to it;
    `envgrid decode --sm4-key` reads it back; a key for a 2017 frame is refused."""
    key = "0000000000000000"
    upload = {
        "cn": 2011,
        "st": "22",
        "mn": "MN2025",
        "pw": "p",
        "qn": "20261121100000001",
        "edition": "2025",
        "data_time": "20261121100000",
        "values": {"a34004": {"Rtd": "35", "Flag": "N"}, "a21026": {"Rtd": "8", "Flag": "N"}},
        "sm4_key": key,
        "backfill": True,
    }
    frame = envgrid("encode", "--json", json.dumps(upload))
    assert frame.returncode == 0, frame.stderr
    assert b";Flag=9;RF=1;CP=&&{0x" in frame.stdout and b"a34004" not in frame.stdout
    [obj] = lines(envgrid("decode", "--sm4-key", key, stdin=frame.stdout).stdout)
    assert obj["encrypted"] and obj["backfill"] and obj["values"]["a34004"]["Rtd"] == "35"
    [error] = lines(envgrid("decode", stdin=frame.stdout).stdout)
    assert error["error"] == "sm4_no_key"
    reply = {"reply": "9014", "to": frame.stdout.decode(), "sm4_key": key, "edition": "2025"}
    ack = envgrid("encode", "--json", json.dumps(reply)).stdout
    assert ack.startswith(b"##") and b";ST=91;CN=9014;PW=p;MN=MN2025;Flag=8;CP=&&&&" in ack
    bad = envgrid("encode", "--json", json.dumps({**upload, "edition": "2017"}))
    assert bad.returncode == 2 and b"2025" in bad.stderr
