"""Frames → rows: table-driven."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ingest.rows import (
    TimeParser,
    cp_digest,
    latest_values,
    measurement_rows,
    record_rows,
    status_rows,
)
from protocol import Decoder, Frame, encode_frame, encode_upload

TZ = ZoneInfo("Asia/Shanghai")
TS = datetime(2026, 11, 21, 12, tzinfo=TZ)
IDS = {"a21026": 1, "a34004": 2, "w01018": 3, "w00000": 4, "LA": 5}


def frame(raw: bytes) -> Frame:
    [event] = Decoder().feed(raw)
    assert isinstance(event, Frame)
    return event


CASES = [
    (
        "real-time with ZsRtd and flags",
        encode_upload(
            2011,
            st="31",
            mn="M",
            pw="1",
            qn="1",
            data_time="20261121120000",
            values={
                "a21026": {"Rtd": "12.5", "ZsRtd": "16.2", "Flag": "N"},
                "a34004": {"Rtd": "3", "Flag": "M"},
            },
        ),
        [
            (7, 1, TS, 12.5, None, None, None, 16.2, "N"),
            (7, 2, TS, 3.0, None, None, None, None, "M"),
        ],
        0,
    ),
    (
        "minute data uses Avg/Min/Max/Cou",
        encode_upload(
            2051,
            st="32",
            mn="M",
            pw="1",
            qn="1",
            data_time="20261121120000",
            values={
                "w01018": {"Cou": "10.5", "Min": "40.1", "Avg": "40.2", "Max": "41", "Flag": "N"}
            },
        ),
        [(7, 3, TS, 40.2, 40.1, 41.0, 10.5, None, "N")],
        0,
    ),
    (
        "not-a-number values are counted and left out",
        encode_upload(
            2011,
            st="22",
            mn="M",
            pw="1",
            qn="1",
            data_time="20261121120000",
            values={
                "a21026": {"Rtd": "N/A"},
                "a34004": {"Rtd": "nan"},
                "w01018": {"Rtd": ""},
                "LA": {"Rtd": "55.5"},
            },
        ),
        [(7, 5, TS, 55.5, None, None, None, None, None)],
        3,
    ),
    (
        "infinities and overflow are not numbers; spaces around one are tolerated",
        encode_frame(
            "ST=22;CN=2011;PW=1;MN=M;CP=&&DataTime=20261121120000;a21026-Rtd=inf;"
            "a34004-Rtd=-Infinity;w01018-Rtd=1e400;LA-Rtd=1e3,LA-ZsRtd=x&&"
        ),
        [(7, 5, TS, 1000.0, None, None, None, None, None)],
        3,
    ),
    (
        "minute data: a bad Min/Max/Cou is left empty, the row stays",
        encode_frame(
            "ST=32;CN=2051;PW=1;MN=M;CP=&&DataTime=20261121120000;"
            "w01018-Avg=4,w01018-Min=nan,w01018-Max=,w01018-Cou=-inf,w01018-ZsAvg=5&&"
        ),
        [(7, 3, TS, 4.0, None, None, None, 5.0, None)],
        0,
    ),
    (
        "2005 legacy codes map to 2017 ids",
        encode_frame(
            "ST=32;CN=2011;PW=1;MN=M;CP=&&DataTime=20261121120000;B01-Rtd=100;"
            "011-Rtd=1.1,011-Flag=N&&"
        ),
        [
            (7, 4, TS, 100.0, None, None, None, None, None),
            (7, 3, TS, 1.1, None, None, None, None, "N"),
        ],
        0,
    ),
]


@pytest.mark.parametrize(("name", "raw", "rows", "bad"), CASES, ids=[c[0] for c in CASES])
def test_measurement_rows(name: str, raw: bytes, rows: list[tuple[object, ...]], bad: int) -> None:
    out: list[tuple[object, ...]] = []
    assert measurement_rows(frame(raw), 7, TS, IDS.__getitem__, out) == bad  # type: ignore[arg-type]
    assert out == rows


def test_status_rows_and_latest() -> None:
    f = frame(
        encode_upload(
            2021,
            st="32",
            mn="M",
            pw="1",
            qn="1",
            data_time="20261121120000",
            values={"SB1": {"RS": "1"}, "SB2": {"RS": "4"}},
        )
    )
    assert status_rows(f, 7, TS, TS) == [
        (7, TS, 2021, "SB1", "RS", "1", TS),
        (7, TS, 2021, "SB2", "RS", "4", TS),
    ]
    g = frame(
        encode_upload(
            2011,
            st="22",
            mn="M",
            pw="1",
            qn="1",
            data_time="20261121120000",
            values={"a21026": {"Rtd": "8", "Flag": "D"}, "a34004": {"Rtd": "x"}},
        )
    )
    assert latest_values(g) == {"a21026": {"v": 8.0, "f": "D"}}


def test_time_parser_zones_and_caches() -> None:
    parse = TimeParser(TZ, limit=2)
    assert parse("20261121120000") == TS
    # the same instant, held in UTC (no zone lookups downstream)
    assert parse("20261121120000") == datetime(2026, 11, 21, 4, tzinfo=UTC)
    assert parse("20261121120000").tzinfo is UTC  # type: ignore[union-attr]
    assert parse("20261121120000123") == TS.replace(microsecond=123000)
    assert parse("2026112112") is None and parse(None) is None
    assert parse("20261121120000") == TS  # after the cache was cleared


def test_digest_ignores_qn_but_not_values() -> None:
    a = frame(
        encode_upload(
            2011,
            st="22",
            mn="M",
            pw="1",
            qn="1",
            data_time="20261121120000",
            values={"a21026": {"Rtd": "8"}},
        )
    )
    b = frame(
        encode_upload(
            2011,
            st="22",
            mn="M",
            pw="1",
            qn="2",
            data_time="20261121120000",
            values={"a21026": {"Rtd": "8"}},
        )
    )
    c = frame(
        encode_upload(
            2011,
            st="22",
            mn="M",
            pw="1",
            qn="1",
            data_time="20261121120000",
            values={"a21026": {"Rtd": "9"}},
        )
    )
    assert cp_digest(a) == cp_digest(b) != cp_digest(c)


RECEIVED = datetime(2026, 11, 21, 12, 3, tzinfo=TZ)
RECORD_CASES = [
    (
        "2111 furnace temperature 5-min mean",
        2111,
        {"a01901": {"Avg": "868"}},
        [(7, 2111, "a01901", TS, 868.0, {}, RECEIVED, None)],
    ),
    (
        "2013 raw periodic data",
        2013,
        {
            "a21026": {
                "SampleTime": "20261121115500",
                "CompleteTime": "20261121120000",
                "SampleType": "1",
                "Avg": "12.5",
                "Flag": "N",
            }
        },
        [
            (
                7,
                2013,
                "a21026",
                TS,
                12.5,
                {
                    "SampleTime": "20261121115500",
                    "CompleteTime": "20261121120000",
                    "SampleType": "1",
                    "Flag": "N",
                },
                RECEIVED,
                None,
            )
        ],
    ),
    (
        "2062 standard-sample check",
        2062,
        {"w01018": {"SampleRd": "49.8", "StandardValue": "50", "ResultType": "1"}},
        [(7, 2062, "w01018", TS, 49.8, {"StandardValue": "50", "ResultType": "1"}, RECEIVED, None)],
    ),
    (
        "2052 single noise measurement, a value that is no number",
        2052,
        {"LA": {"Data": "55.2"}, "Leq": {"Data": "n/a"}},
        [
            (7, 2052, "LA", TS, 55.2, {}, RECEIVED, None),
            (7, 2052, "Leq", TS, None, {}, RECEIVED, None),
        ],
    ),
]


@pytest.mark.parametrize(
    ("name", "cn", "values", "expected"), RECORD_CASES, ids=[c[0] for c in RECORD_CASES]
)
def test_record_rows(name: str, cn: int, values: dict[str, dict[str, str]], expected: list) -> None:
    raw = encode_upload(
        cn, st="22", mn="M", pw="1", qn="1", edition="2025", data_time="20261121120000",
        values=values,
    )  # fmt: skip
    assert record_rows(frame(raw), 7, TS, RECEIVED) == expected
