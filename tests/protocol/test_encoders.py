"""Encoders: byte-exact replies from the standards' examples, and round trips."""

from __future__ import annotations

from datetime import datetime

import pytest

from protocol import (
    Decoder,
    EncodeError,
    Frame,
    Role,
    encode_data_ack,
    encode_execution_result,
    encode_frame,
    encode_notify_ack,
    encode_request,
    encode_request_answer,
    encode_upload,
    format_qn,
)

from .vectors import SAMPLES, VECTORS


def decode_one(raw: bytes, role: Role = Role.PLATFORM) -> Frame:
    [event] = Decoder(role=role, max_length=9999).feed(raw)
    assert isinstance(event, Frame), event
    return event


def test_9014_for_sample_upload_matches_sample_ack_byte_for_byte() -> None:
    upload = decode_one(VECTORS[0][1])
    assert encode_data_ack(upload) == VECTORS[1][1]


@pytest.mark.parametrize("index", [4, 5])
def test_9014_for_split_parts_matches_c50(index: int) -> None:
    part = decode_one(VECTORS[index][1])
    expected = f"QN={part.qn};ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&"
    assert encode_data_ack(part) == encode_frame(expected)


def test_2005_data_ack_matches_sample() -> None:
    # [S05] App. C: the minute-data upload answered by ST=91;CN=9014;CP=&&QN=…;CN=2051&&
    upload = encode_frame(
        "ST=32;CN=2051;QN=20040516010101001;PW=123456;MN=88888880000001;Flag=1;"
        "CP=&&DataTime=20040516021000;B01-Cou=200;101-Cou=2.5,101-Min=1.1,101-Avg=1.1,"
        "101-Max=1.1&&"
    )
    ack = encode_data_ack(decode_one(upload))
    assert ack == SAMPLES[16]["frame"].encode()


def test_2005_split_ack_has_pno_pnum() -> None:
    upload = encode_frame(
        "ST=32;CN=2051;QN=20040516010101001;PW=123456;MN=88888880000001;Flag=3;PNO=1;PNUM=1;"
        "CP=&&DataTime=20040516021000;B01-Cou=200&&"
    )
    ack = encode_data_ack(decode_one(upload))
    assert b"CP=&&QN=20040516010101001;CN=2051;PNO=1;PNUM=1;&&" in ack


@pytest.mark.parametrize("index", [10, 11, 12])
def test_2017_replies_match_samples(index: int) -> None:
    sample = decode_one(VECTORS[index][1])
    if sample.cn == 9011:
        raw = encode_request_answer(qn=sample.qn, mn=sample.mn, pw=sample.pw, edition="2017")
    elif sample.cn == 9012:
        raw = encode_execution_result(qn=sample.qn, mn=sample.mn, pw=sample.pw, edition="2017")
    else:
        raw = encode_notify_ack(sample)
    assert raw == VECTORS[index][1]


def test_2005_request_answer_matches_sample() -> None:
    raw = encode_request_answer(
        qn="20040516010101001", mn="88888880000001", pw="123456", edition="2005"
    )
    assert raw == VECTORS[15][1]


def test_app_a_request_byte_exact() -> None:
    raw = encode_request(
        1062,
        qn="20160801085857223",
        st="32",
        mn="010000A8900016F000169DC0",
        pw="100000",
        cp={"RtdInterval": 30},
    )
    assert raw == VECTORS[18][1]
    assert raw.endswith(b"1C80\r\n")


REQUESTS = [
    (1000, {"OverTime": 5, "ReCount": 3}),
    (1011, {"PolId": "w01018"}),
    (1012, {"SystemTime": "20160801085857"}),
    (1061, {}),
    (1062, {"RtdInterval": 30}),
    (1063, {}),
    (1064, {"MinInterval": 10}),
    (1072, {"NewPW": "654321"}),
    (2011, {}),
    (2012, {}),
    (2021, {}),
    (2022, {}),
    (2031, {"BeginTime": "20160801000000", "EndTime": "20160802000000"}),
    (2041, {"BeginTime": "20160801000000", "EndTime": "20160802000000"}),
    (2051, {"BeginTime": "20160801080000", "EndTime": "20160801090000"}),
    (2061, {"BeginTime": "20160801080000", "EndTime": "20160801080000"}),
    (3011, {"PolId": "w01018"}),
    (3015, {}),
    (3016, {"PolId": "w01018", "CstartTime": "000000", "CTime": 2}),
    (3020, {"PolId": "w01018", "InfoId": "i12001"}),
    (3021, {"PolId": "w01018", "InfoId": "i13004", "i13004-Info": "168.0"}),
]


@pytest.mark.parametrize(("cn", "cp"), REQUESTS)
@pytest.mark.parametrize("edition", ["2017", "2005"])
def test_requests_round_trip(cn: int, cp: dict[str, object], edition: str) -> None:
    qn = format_qn(datetime(2016, 8, 1, 8, 58, 57, 223000))
    raw = encode_request(
        cn, qn=qn, st="32", mn="010000A8900016F000169DC0", pw="123456", edition=edition, cp=cp
    )  # type: ignore[arg-type]
    frame = decode_one(raw, Role.STATION)
    assert frame.kind == "command"
    assert frame.cn == cn and frame.qn == qn and frame.edition == edition
    assert frame.flag == (5 if edition == "2017" else 3)
    got = dict(frame.fields)
    got.update({f"{c}-{f}": v for c, fs in frame.values.items() for f, v in fs.items()})
    assert got == {k: str(v) for k, v in cp.items()}


@pytest.mark.parametrize("edition", ["2017", "2005"])
@pytest.mark.parametrize("cn", [2011, 2051, 2061, 2031])
def test_uploads_round_trip(edition: str, cn: int) -> None:
    values = {
        "a21026": {"Avg": "8.0", "Min": "1.0", "Max": "9.5", "Flag": "N"},
        "a34004": {"Avg": "35", "Flag": "M"},
    }
    raw = encode_upload(
        cn,
        st="22",
        mn="AQ1",
        pw="123456",
        edition=edition,
        qn="20240301120000123",
        data_time="20240301120000",
        values=values,
    )
    frame = decode_one(raw)
    assert frame.kind == "data" and frame.edition == edition and frame.cn == cn
    assert {k: dict(v) for k, v in frame.values.items()} == values
    assert frame.data_time == "20240301120000"
    assert frame.ack_requested
    ack = decode_one(encode_data_ack(frame), Role.STATION)
    assert ack.kind == "reply" and ack.cn == 9014


def test_split_upload_round_trip_and_ack_per_part() -> None:
    parts = [
        encode_upload(
            2061,
            st="32",
            mn="W1",
            pw="1",
            qn=f"2016080108585753{i}",
            data_time="20160801080000",
            values={f"w0101{i}": {"Avg": "1"}},
            pnum=2,
            pno=i,
        )
        for i in (1, 2)
    ]
    frames = [decode_one(p) for p in parts]
    assert [f.flag for f in frames] == [7, 7]
    assert [(f.pnum, f.pno) for f in frames] == [(2, 1), (2, 2)]
    acks = [decode_one(encode_data_ack(f), Role.STATION) for f in frames]
    assert [a.qn for a in acks] == [f.qn for f in frames]


def test_encoder_refuses_separators_in_values() -> None:
    with pytest.raises(EncodeError):
        encode_request(1072, qn="1", st="32", mn="M", pw="1", cp={"NewPW": "a;b"})
    with pytest.raises(EncodeError):
        encode_frame("x" * 10_000)


def test_info_text_may_hold_chinese() -> None:
    raw = encode_upload(
        3020,
        st="32",
        mn="M",
        pw="1",
        qn="1",
        data_time="20160801085857",
        fields={"PolId": "w01018"},
        values={"i11001": {"Info": "//清洗管路//"}},
    )
    frame = decode_one(raw)
    assert frame.values["i11001"]["Info"] == "//清洗管路//"
    assert int(raw[2:6]) == len(raw) - 12  # LLLL counts UTF-8 bytes
