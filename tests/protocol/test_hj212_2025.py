"""HJ 212-2025 in the codec: the checked vectors (tests/data/hj212/vectors_2025.json, from
../shared/hj212) decode, and encrypted ones round-trip (decrypt, parse, re-encrypt, same
bytes); Flag version 2, RF=1, 2025 replies; SM4 keys and every kind of bad ciphertext."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from protocol import (
    DataUpload,
    Decoder,
    ErrorCode,
    Frame,
    FrameError,
    Role,
    crc16,
    encode_data_ack,
    encode_frame,
    encode_notify_ack,
    encode_request,
    encode_upload,
)
from protocol.sm4 import decrypt_segment, encrypt_frame, encrypt_segment, parse_key, sm4_for

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parents[1] / "data" / "hj212" / "vectors_2025.json").read_text("utf-8")
)["vectors"]
KEY = parse_key("0000000000000000")
MN = "010000A8900016F000169DC0"


def _decode(data: bytes, keys: dict[str, list[bytes]] | None = None, **kw: Any) -> list[Any]:
    role = kw.pop("role", Role.PLATFORM)
    decoder = Decoder(role=role, sm4_keys=(lambda mn: (keys or {}).get(mn, [])), **kw)
    return decoder.feed(data) + decoder.close()


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vectors_decode_and_round_trip(vector: dict[str, Any]) -> None:
    wire = vector["frame"].encode("utf-8")
    expected = vector["expected"]
    keys = {MN: [parse_key(vector["key"])]} if vector["key"] else None
    role = Role.STATION if vector["role"] == "platform_command" else Role.PLATFORM
    [event] = _decode(wire, keys, role=role)
    assert isinstance(event, Frame), event
    assert event.edition == "2025"
    assert dict(event.head) == expected["header"]
    assert event.cp == expected["cp"]
    assert event.data_time == expected["data_time"]
    assert {k: dict(v) for k, v in event.values.items()} == expected["values"]
    assert dict(event.fields) == expected["fields"] | (
        {"DataTime": expected["data_time"]} if expected["data_time"] else {}
    )
    plain = expected["plaintext_segment"].encode("utf-8")
    assert event.raw == b"##%04d%b%s\r\n" % (len(plain), plain, expected["crc"].encode())
    assert f"{crc16(plain):04X}" == expected["crc"]
    assert event.encrypted is vector["encrypted_on_wire"]
    if vector["encrypted_on_wire"]:
        assert encrypt_frame(event.raw, parse_key(vector["key"])) == wire


def test_llll_may_count_the_wire_segment() -> None:
    """[CDP] writes LLLL as the transmitted length; the standard's examples the plaintext's."""
    [vector] = [v for v in VECTORS if v["id"] == "A2-ex2-encrypted"]
    wire = vector["frame"].encode()
    segment = wire[6:-6]
    as_sent = b"##%04d" % len(segment) + wire[6:]
    [event] = _decode(as_sent, {MN: [KEY]}, max_length=1024)
    assert isinstance(event, DataUpload) and event.cp == vector["expected"]["cp"]
    wrong = b"##0300" + wire[6:]
    [error] = _decode(wrong, {MN: [KEY]})
    assert isinstance(error, FrameError) and error.code is ErrorCode.BAD_LENGTH


def _upload(**kw: Any) -> bytes:
    return encode_upload(
        2011,
        st="22",
        mn=MN,
        pw="123456",
        edition="2025",
        qn="20260601085857223",
        data_time="20260601085800",
        values={
            "a34004": {"Rtd": "35", "Flag": "N"},
            "a34002": {"Rtd": "60", "Flag": "N"},
            "a21026": {"Rtd": "8", "Flag": "N"},
        },
        **kw,
    )


def test_encrypted_upload_any_chunking_and_the_2025_ack() -> None:
    wire = _upload(sm4_key=KEY)
    assert b"CP=&&{0x" in wire and b"a34004" not in wire
    plain = _upload()
    assert wire[:6] == plain[:6] and wire[-6:] == plain[-6:]  # LLLL, CRC of the plaintext
    whole = _decode(wire * 2, {MN: [KEY]})
    decoder = Decoder(sm4_keys=lambda mn: [KEY])
    pieces = [e for i in range(0, len(wire) * 2, 7) for e in decoder.feed((wire * 2)[i : i + 7])]
    assert [e.raw for e in pieces] == [e.raw for e in whole] == [plain, plain]
    event = whole[0]
    assert event.flag == 9 and event.ack_requested and event.values["a34004"]["Rtd"] == "35"
    ack = encode_data_ack(event)
    assert ack == encode_frame(
        f"QN=20260601085857223;ST=91;CN=9014;PW=123456;MN={MN};Flag=8;CP=&&&&"
    )
    [reply] = _decode(ack, role=Role.STATION)
    assert (reply.cn, reply.st, reply.flag, reply.qn) == (9014, "91", 8, "20260601085857223")


def test_the_9014_and_1014_vectors_are_what_the_encoders_build() -> None:
    by_id = {v["id"]: v["frame"].encode() for v in VECTORS}
    [upload] = _decode(
        encode_upload(2011, st="32", mn=MN, pw="123456", edition="2025", qn="20240601085857223")
    )
    assert encode_data_ack(upload) == by_id["C-9014-reply"]
    request = encode_request(
        1014,
        qn="20240601085857223",
        st="32",
        mn=MN,
        pw="123456",
        edition="2025",
        cp=[("SKCreateTime", "20240601085857223")],
    )
    assert request.startswith(b"##") and b"Flag=9;" in request
    assert by_id["C-1014-set-key"].count(b"SKCreateTime=20240601085857223,NewSK=") == 1


def test_heartbeat_and_backfill() -> None:
    heartbeat = encode_upload(
        9015, st="22", mn=MN, pw="123456", edition="2025", qn="20260601085857223"
    )
    [beat] = _decode(heartbeat)
    assert beat.kind == "heartbeat" and beat.edition == "2025"
    [answer] = _decode(encode_notify_ack(beat), role=Role.STATION)
    assert (answer.cn, answer.flag, answer.qn) == (9013, 8, "20260601085857223")
    [late] = _decode(_upload(backfill=True, sm4_key=KEY), {MN: [KEY]})
    assert late.backfill and b";RF=1;CP=&&" in late.raw
    assert not _decode(_upload())[0].backfill


def test_keys() -> None:
    assert parse_key("0000000000000000") == b"0" * 16
    assert parse_key("30" * 16) == b"0" * 16
    assert parse_key("00112233445566778899AABBCCDDEEFF").hex() == "00112233445566778899aabbccddeeff"
    for bad in (
        "",
        "short",
        "0" * 17,
        "0" * 31,
        "g" * 32,
        "密钥密钥密钥密钥密钥密钥密钥密钥",
        "0000 00000000000",
    ):
        with pytest.raises(ValueError, match="16 printable ASCII characters or 32 hex digits"):
            parse_key(bad)


def test_previous_key_in_its_grace_period() -> None:
    old, new = parse_key("1111111111111111"), parse_key("2222222222222222")
    [event] = _decode(_upload(sm4_key=old), {MN: [new, old]})
    assert isinstance(event, DataUpload) and event.notes == ("sm4", "sm4_previous_key")


def _without_first_byte(wire: bytes) -> bytes:
    start = wire.index(b"{") + 1
    return wire[:start] + wire[start + 5 :]


def _flip_cipher(wire: bytes) -> bytes:
    start = wire.index(b"{0x") + 3
    digit = wire[start : start + 1]
    return wire[:start] + (b"1" if digit != b"1" else b"2") + wire[start + 1 :]


@pytest.mark.parametrize(
    ("mutate", "keys", "code"),
    [
        (lambda w: w, {}, ErrorCode.SM4_NO_KEY),
        (lambda w: w, {MN: [parse_key("9" * 16)]}, ErrorCode.CRC_MISMATCH),  # wrong key
        (lambda w: w.replace(b",0x", b",0y", 1), {MN: [KEY]}, ErrorCode.SM4_BAD_CIPHERTEXT),
        (lambda w: w.replace(b"}", b"", 1), {MN: [KEY]}, ErrorCode.SM4_BAD_CIPHERTEXT),
        # a byte less: not whole 16-byte blocks
        (_without_first_byte, {MN: [KEY]}, ErrorCode.SM4_BAD_CIPHERTEXT),
        (lambda w: w.replace(b"{0x", b"{0x0", 1), {MN: [KEY]}, ErrorCode.SM4_BAD_CIPHERTEXT),
        (_flip_cipher, {MN: [KEY]}, ErrorCode.CRC_MISMATCH),  # tampered
    ],
    ids=["no key", "wrong key", "not hex", "no brace", "partial block", "odd digits", "tampered"],
)
def test_bad_ciphertext_is_refused(
    mutate: Any, keys: dict[str, list[bytes]], code: ErrorCode
) -> None:
    wire = mutate(_upload(sm4_key=KEY))
    events = _decode(wire, keys)
    assert [e.code for e in events if isinstance(e, FrameError)] == [code]
    assert not [e for e in events if isinstance(e, Frame)]


def test_segment_helpers() -> None:
    sm4 = sm4_for(KEY)
    short = b"QN=1;ST=22;CN=2011;PW=1;MN=M;Flag=9;CP=&&a=1&&"
    assert encrypt_segment(short, sm4) == short  # a region under 16 bytes stays plain
    seg = b"QN=1;ST=22;CN=2011;PW=1;MN=M;Flag=9;CP=&&DataTime=20260101000000;tail&&"
    wire = encrypt_segment(seg, sm4)
    assert wire.endswith(b"}1000000;tail&&") and decrypt_segment(wire, sm4) == seg


def test_a_plain_cp_starting_with_a_brace_decodes_however_it_is_split() -> None:
    """Fuzz finding: with lenient line ends, a plain frame whose CP starts with '{' and
    holds an LF was refused when a read ended at the LF (taken for an encrypted frame)."""
    frame = encode_frame(
        "QN=20260601085857223;ST=22;CN=3020;PW=123456;MN=010000A8900016F000169DC0;Flag=8;"
        "CP=&&{0xDE34.5,w21001-Rtd=8.2\n390,w01001-Flag=N&&"
    )
    cut = frame.index(b"\n") + 1
    whole = Decoder(lenient_terminator=True, sm4_keys=lambda _mn: [KEY])
    split = Decoder(lenient_terminator=True, sm4_keys=lambda _mn: [KEY])
    a = whole.feed(frame) + whole.close()
    b = split.feed(frame[:cut]) + split.feed(frame[cut:]) + split.close()
    assert [type(e).__name__ for e in a] == [type(e).__name__ for e in b] == ["InfoUpload"]
