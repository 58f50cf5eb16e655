"""forward.targets and forward.reencode: pure, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from forward.reencode import StoredFrameError, is_late, reencode
from forward.targets import ForwardError, TargetSpec, parse_cns, parse_mn_map, parse_mns
from protocol import DataUpload, Decoder, Role, encode_upload
from protocol.redact import mask_frame_text
from protocol.sm4 import parse_key

KEY = parse_key("0123456789abcdef")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("local,remote\nA1,B1\nA2,B2\n", {"A1": "B1", "A2": "B2"}),
        ("\ufefflocal,remote\r\nA1,B1\r\n\r\n", {"A1": "B1"}),
        ("LOCAL, REMOTE\n A1 , B1 \n", {"A1": "B1"}),
        ("local,remote\n", {}),
    ],
)
def test_mn_map_reads(text: str, expected: dict[str, str]) -> None:
    assert parse_mn_map(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "header"),
        ("mn,upstream\nA,B\n", "header"),
        ("local,remote\nA1\n", "line 2: two columns"),
        ("local,remote\nA1,B1,C1\n", "line 2: two columns"),
        ("local,remote\nA1,B1\nA1,B2\n", "line 3: A1 is mapped twice"),
        ("local,remote\nA1,B1\nA2,B1\n", "line 3: B1 is already the remote MN of A1"),
        ("local,remote\nA 1,B1\n", "line 2: 'A 1' is not a valid MN"),
        ("local,remote\nA1,B;1\n", "not a valid MN"),
    ],
)
def test_mn_map_refuses(text: str, message: str) -> None:
    with pytest.raises(ForwardError, match=message):
        parse_mn_map(text)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "bad name"}, "target name"),
        ({"host": ""}, "host"),
        ({"port": 0}, "port 0"),
        ({"port": 70000}, "port 70000"),
        ({"edition": "2005"}, "edition"),
        ({"sm4_key": "0123456789abcdef"}, "needs --edition 2025"),
        ({"edition": "2025", "sm4_key": "short"}, "SM4 key"),
        ({"password": "a;b"}, "password"),
        ({"cns": ()}, "no CN"),
        ({"cns": (2011, 9014)}, "CN 9014 cannot be forwarded"),
        ({"backlog_alert_minutes": 0}, "alert-after"),
    ],
)
def test_target_spec_refuses(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"name": "prov", "host": "127.0.0.1", "port": 9000}
    with pytest.raises(ForwardError, match=message):
        TargetSpec(**{**base, **kwargs})  # type: ignore[arg-type]


def test_cns_and_mns() -> None:
    assert parse_cns("2011, 2051,2011") == (2011, 2051)
    assert parse_mns("A1, B2,,A1") == ("A1", "B2")
    with pytest.raises(ForwardError, match="4-digit"):
        parse_cns("2011,20x1")
    with pytest.raises(ForwardError, match="not a valid MN"):
        parse_mns("A1,B 2")


def _stored(edition: str = "2017", **kw: object) -> str:
    frame = encode_upload(
        2051,
        st="22",
        mn="LOCAL01",
        pw="secret",
        edition=edition,
        qn="20260101000000000",
        data_time="20260101000000",
        values={"a34004": {"Avg": 35.0, "Flag": "N"}},
        **kw,  # type: ignore[arg-type]
    )
    return mask_frame_text(frame.decode())


def _decode(frame: bytes, key: bytes | None = None) -> DataUpload:
    events = Decoder(role=Role.PLATFORM, sm4_keys=lambda mn: (key,) if key else ()).feed(frame)
    assert len(events) == 1 and isinstance(events[0], DataUpload), events
    return events[0]


@pytest.mark.parametrize("source", ["2017", "2025", "2005"])
def test_reencode_2017(source: str) -> None:
    out = reencode(
        _stored(source),
        qn="20260101080000123",
        password="up-pw",
        mn="REMOTE9",
        edition="2017",
        late=True,
    )
    f = _decode(out)
    assert (f.qn, f.pw, f.mn, f.st, f.cn, f.flag) == (
        "20260101080000123",
        "up-pw",
        "REMOTE9",
        "22",
        2051,
        5,
    )
    assert f.values["a34004"]["Avg"] == "35.0"
    assert "RF" not in f.head  # 2017 has no RF


def test_reencode_2025_encrypted_late_and_split() -> None:
    raw = _stored("2017", pnum=2, pno=1)
    out = reencode(
        raw,
        qn="20260101080000123",
        password="pw",
        mn="R1",
        edition="2025",
        late=True,
        sm4_key=KEY,
    )
    assert b"CP=&&{0x" in out  # encrypted on the wire
    f = _decode(out, KEY)
    assert f.flag == (2 << 2) | 1 | 2 and f.head["RF"] == "1"
    assert (f.pnum, f.pno) == (2, 1)
    on_time = _decode(
        reencode(raw, qn="20260101080000124", password="pw", mn="R1", edition="2025", late=False)
    )
    assert "RF" not in on_time.head


@pytest.mark.parametrize("raw", ["", "garbage", "##0010QN=1;ST=22AAAA\r\n"])
def test_reencode_refuses_what_is_not_a_frame(raw: str) -> None:
    with pytest.raises(StoredFrameError):
        reencode(raw, qn="1", password="", mn="M", edition="2017", late=False)


@pytest.mark.parametrize(
    ("cn", "age", "backfill", "late"),
    [
        (2011, timedelta(minutes=5), False, False),
        (2011, timedelta(minutes=11), False, True),
        (2061, timedelta(minutes=90), False, False),
        (2061, timedelta(hours=3), False, True),
        (2031, timedelta(hours=30), False, False),
        (2051, timedelta(0), True, True),
    ],
)
def test_is_late(cn: int, age: timedelta, backfill: bool, late: bool) -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    assert is_late(cn, now - age, now, backfill=backfill) is late
