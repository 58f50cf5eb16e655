"""The compiled COPY encoder against the Python path it replaces (ingest.copyrows).

Whenever ``ingest._copyrows`` accepts a body it must give exactly the bytes, feed
columns and counts of :func:`ingest.copyrows.encode_python` (parse_cp, measurement_rows,
then the binary COPY layout); for the bodies it leaves to Python it returns None.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import copyrows
from ingest.copyrows import encode, encode_python, encode_rows, pg_microseconds
from protocol import DataUpload
from protocol._events import make_frame

pytestmark = pytest.mark.skipif(
    not copyrows.COMPILED,
    reason="ingest._copyrows is not in use (ENVGRID_NO_EXTENSIONS, or not built: make setup)",
)

TS = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)
IDS = {"a21026": 1, "a21004": 2, "a34004": 3, "a01001": 4, "w01018": 5, "a05024": 300}


def frame(cp: str, cn: int = 2011) -> DataUpload:
    head = {"QN": "20261207143000000", "ST": "22", "CN": str(cn), "PW": "123456", "MN": "X"}
    raw = f"QN=…;CP=&&{cp}&&".encode()
    out = make_frame(DataUpload, "2017", cn, 5, head, cp, raw)
    assert isinstance(out, DataUpload)
    return out


def both(cp: str, cn: int = 2011) -> tuple[copyrows.Encoded | None, copyrows.Encoded]:
    f = frame(cp, cn)
    ids = dict(IDS)
    fast = encode(f, 7, TS, ids)
    slow = encode_python(frame(cp, cn), 7, TS, _with_ids(frame(cp, cn), ids))
    return fast, slow


def _with_ids(f: DataUpload, ids: dict[str, int]) -> dict[str, int]:
    """The Python path registers unknown codes first: give them ids."""
    out = dict(ids)
    for code in f.values:
        out.setdefault(code, 1000 + len(out))
    return out


ORDINARY = [
    "DataTime=20261207143000;a21026-Rtd=8.0,a21026-Flag=N;a21004-Rtd=35.5,a21004-Flag=N",
    "DataTime=20261207143000;a34004-Rtd=12,a34004-ZsRtd=13.5,a34004-Flag=M",
    "DataTime=20261207143000;a21026-Rtd=abc,a21026-Flag=N;a21004-Rtd=,a21004-Flag=D",
    "DataTime=20261207143000;a21026-Rtd=nan;a21004-Rtd=inf;a34004-Rtd=-1e999;a01001-Rtd=1e3",
    "DataTime=20261207143000;a21026-Flag=N;a21026-Rtd=1;a21026-Rtd=2;a21026-Flag=",
    "DataTime=20261207143000;a21026-Data=4.5;a21004-ZsRtd=3",
    "DataTime=20261207143000;a21026-Rtd=8=9;a21004-Rtd;=5;;a34004-Rtd=+.5E-2,a34004-Flag=N=x",
    "DataTime=20261207143000;a21026-Rtd=8;a21026-ZsRtd=x;a21004-Rtd=9;a21004-ZsRtd=inf",
    "a21026-Rtd=-0.0;a21004-Rtd=+5.;a34004-Rtd=.5;a01001-Rtd=123456789012345;w01018-Rtd=-.",
    "a21026-Rtd=0000000000000001.5;a21004-Rtd=1234567890123456;a34004-Rtd=0.1234567890123456",
    "a21026-Rtd=1.;a21004-Rtd=..5;a34004-Rtd=1.2.3;a01001-Rtd=+-1;w01018-Rtd=0.30000000000000004",
    "",
    "DataTime=20261207143000",
]


@pytest.mark.parametrize("cp", ORDINARY)
def test_ordinary_bodies_take_the_compiled_path_and_agree(cp: str) -> None:
    fast, slow = both(cp)
    assert fast is not None
    assert fast == slow


@pytest.mark.parametrize(
    "cp",
    [
        "DataTime=20261207143000;a21026-Rtd=8.0 ;a21004-Rtd=1",  # spaces are stripped
        "DataTime=20261207143000;a21026-Rtd=1_0",  # float() reads "1_0"
        "DataTime=20261207143000;a21026-Info=//a;b//;a21026-Rtd=1",  # //text//
        "DataTime=20261207143000;B02-Rtd=1",  # a 2005 code to map
        "DataTime=20261207143000;a99999-Rtd=1",  # a code without an id: register first
        "DataTime=20261207143000;a21026-Rtd=１",  # non-ASCII
        "DataTime=20261207143000;a21026-Rtd=" + "1" * 80,  # a long number
    ],
)
def test_unusual_bodies_are_left_to_python(cp: str) -> None:
    fast, slow = both(cp)
    assert fast is None
    assert slow[3] + slow[4] >= 0  # the Python path handles it


def test_minute_data_reads_avg_min_max_cou_and_zsavg() -> None:
    cp = (
        "DataTime=20261207143000;a34004-Avg=12.5,a34004-Min=1,a34004-Max=30,a34004-Cou=,"
        "a34004-ZsAvg=13,a34004-Flag=N;a21026-Avg=3,a21026-Cou=x"
    )
    fast, slow = both(cp, cn=2051)
    assert fast is not None
    assert fast == slow
    assert fast[3] == 2


def test_the_bytes_are_the_binary_copy_layout() -> None:
    fast, _ = both("DataTime=20261207143000;a05024-Rtd=8.5,a05024-ZsRtd=9,a05024-Flag=N")
    assert fast is not None
    copy, feed, flags, rows, bad = fast
    us = pg_microseconds(TS)
    expected = (
        struct.pack(">hiiihiqid", 9, 4, 7, 2, 300, 8, us, 8, 8.5)
        + b"\xff\xff\xff\xff" * 3
        + struct.pack(">id", 8, 9.0)
        + struct.pack(">i", 1)
        + b"N"
    )
    assert copy == expected
    assert struct.unpack("<ihdd", feed) == (7, 300, TS.timestamp(), 8.5)
    assert (flags, rows, bad) == (("N",), 1, 0)


def test_a_factor_id_beyond_smallint_is_an_error_not_a_wrong_row() -> None:
    with pytest.raises(OverflowError):
        encode(frame("a21026-Rtd=1"), 7, TS, {"a21026": 40000})


def test_encode_rows_of_no_rows() -> None:
    assert encode_rows([]) == (b"", b"", (), 0, 0)


_CODES = st.sampled_from([*IDS, "a99999", "B02", "", "a21026x"])
_FIELDS = st.sampled_from(["Rtd", "ZsRtd", "Flag", "Avg", "ZsAvg", "Min", "Max", "Cou", "Data", ""])
_VALUES = st.one_of(
    st.sampled_from(["", "8.0", "-1", "1e3", "inf", "nan", "N", "1_0", "x", "+.5", "1e999"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.from_regex(r"[+-]?[0-9]{0,17}(\.[0-9]{0,17})?", fullmatch=True),
    st.text(alphabet="0123456789.eE+-=NaInf_/ ", max_size=8),
)
_ITEM = st.one_of(
    st.tuples(_CODES, _FIELDS, _VALUES).map(lambda t: f"{t[0]}-{t[1]}={t[2]}"),
    st.sampled_from(["DataTime=20261207143000", "", "=", "-", "a21026-Rtd", "QnRtn=1"]),
)


@settings(max_examples=400, deadline=None)
@given(items=st.lists(_ITEM, max_size=12), seps=st.lists(st.sampled_from(";,"), min_size=12))
@pytest.mark.parametrize("cn", [2011, 2051])
def test_any_body_agrees_with_the_python_path(cn: int, items: list[str], seps: list[str]) -> None:
    cp = "".join(item + sep for item, sep in zip(items, seps, strict=False)).rstrip(";,")
    fast, slow = both(cp, cn)
    if fast is not None:
        assert fast == slow


def test_the_readings_feed_gets_the_payloads_the_rows_gave() -> None:
    from ingest.rows import MeasurementRow, measurement_rows
    from ingest.writer import Inbound, _readings
    from store.feed import encode_readings

    bodies = [
        ("DataTime=20261207143000;a21026-Rtd=8.0,a21026-Flag=N;a21004-Rtd=35.5,a21004-Flag=M", 7),
        ("DataTime=20261207143100;a34004-Rtd=12;a21026-Rtd=x;a21004-Rtd=1,a21004-Flag=", 9),
        ("DataTime=20261207143100;B02-Rtd=3", 11),  # the Python path
    ]
    done = []
    rows: list[MeasurementRow] = []
    for n, (cp, station) in enumerate(bodies):
        f = frame(cp)
        ts = TS.replace(minute=n)
        item = Inbound(f, station, "X", ts, ts, 0.0)
        ids = _with_ids(f, IDS)
        done.append((item, encode(f, station, ts, ids) or encode_python(f, station, ts, ids)))
        measurement_rows(f, station, ts, ids.__getitem__, rows)
    assert list(_readings("r", done)) == list(encode_readings("r", rows))


@settings(max_examples=400, deadline=None)
@given(items=st.lists(_ITEM, max_size=12), seps=st.lists(st.sampled_from(";,"), min_size=12))
def test_latest_values_read_the_same_in_c(items: list[str], seps: list[str]) -> None:
    from ingest import rows

    cp = "".join(item + sep for item, sep in zip(items, seps, strict=False)).rstrip(";,")
    fast = rows.latest_values(frame(cp))
    saved = rows._LATEST
    rows._LATEST = None
    try:
        slow = rows.latest_values(frame(cp))
    finally:
        rows._LATEST = saved
    assert fast == slow
    assert list(fast) == list(slow)


def test_latest_values_of_an_ordinary_body_come_from_c() -> None:
    from ingest import rows

    assert rows._LATEST is not None
    found = rows._LATEST(ORDINARY[0], rows._KNOWN)
    assert found == [("a21026", 8.0, "N"), ("a21004", 35.5, "N")]
    assert rows._LATEST("a21026-Rtd=1;a21026-Flag=", rows._KNOWN) == [("a21026", 1.0, "N")]
    assert rows._LATEST("B02-Rtd=1", rows._KNOWN) is None  # a 2005 code: Python maps it
