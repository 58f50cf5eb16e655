"""The dispatcher's fast lane (issue 23): once a connection has let an upload in without a
refusal or a flag, the next ones alike skip ``refusal()`` and ``flags()``.  Every case
below sends a first upload, changes something, then sends a second one — on the
connection that took the first (fast lane armed) and on a fresh one (never armed): both
must end the same way, to the reason and the counter."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ingest.connection import StationConnection
from ingest.dispatch import Dispatcher
from ingest.registry import Station, StationRegistry
from ingest.settings import IngestSettings
from ingest.writer import Inbound
from protocol import Decoder, Frame, encode_upload

TZ = ZoneInfo("Asia/Shanghai")
MN = "MN000001"


class _Transport:
    def __init__(self) -> None:
        self.out: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.out.append(data)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 40000)


class _Pipeline:
    def __init__(self) -> None:
        self.items: list[Inbound] = []

    def submit(self, item: Inbound) -> None:
        self.items.append(item)


def _upload(pw: str = "pw", edition: str = "2017", **kw: Any) -> Frame:
    now = datetime.now(TZ).replace(microsecond=0) - timedelta(minutes=1)
    raw = encode_upload(
        2011,
        st="22",
        mn=MN,
        pw=pw,
        edition=edition,
        qn=now.strftime("%Y%m%d%H%M%S") + "001",
        data_time=now.strftime("%Y%m%d%H%M%S"),
        values={"a34004": {"Rtd": "12.5", "Flag": "N"}},
        **kw,
    )
    [frame] = Decoder().feed(raw)
    assert isinstance(frame, Frame)
    return frame


STATION = Station(id=1, mn=MN, password="pw", enabled=True, modbus_crc=False)

#: (what changes between the two uploads: the registry entry, the second upload)
CASES: dict[str, tuple[Station, Frame]] = {
    "alike": (STATION, _upload()),
    "wrong password": (STATION, _upload(pw="other")),
    "no password": (STATION, _upload(pw="")),
    "password changed": (dataclasses.replace(STATION, password="new"), _upload()),
    "station disabled": (dataclasses.replace(STATION, enabled=False), _upload()),
    "registered as 2005": (dataclasses.replace(STATION, edition="2005"), _upload()),
    "strict 2005": (
        dataclasses.replace(STATION, edition="2005", strict_edition=True),
        _upload(),
    ),
    "2005 upload": (STATION, _upload(edition="2005")),
    "backfill": (STATION, _upload(backfill=True)),
}


def _outcome(dispatcher: Dispatcher, conn: StationConnection, frame: Frame) -> tuple[Any, ...]:
    pipeline = dispatcher.pipeline
    assert isinstance(pipeline, _Pipeline)
    before = (Counter(dispatcher.rejected), Counter(dispatcher.flagged), len(pipeline.items))
    dispatcher.handle(conn, frame)
    stored = pipeline.items[before[2] :]
    return (
        dispatcher.rejected - before[0],
        dispatcher.flagged - before[1],
        [(i.station_id, i.frame.qn, i.ts) for i in stored],
    )


def _dispatcher() -> tuple[Dispatcher, StationRegistry]:
    registry = StationRegistry()
    registry._by_mn[MN] = STATION
    dispatcher = Dispatcher(IngestSettings(), worker=0, tz=TZ, registry=registry)
    dispatcher.pipeline = _Pipeline()  # type: ignore[assignment]
    return dispatcher, registry


def _connect(dispatcher: Dispatcher) -> StationConnection:
    conn = StationConnection(dispatcher)
    conn.connection_made(_Transport())  # type: ignore[arg-type]
    return conn


@pytest.mark.parametrize("case", list(CASES))
def test_the_fast_lane_ends_every_upload_as_the_full_checks_do(case: str) -> None:
    station, second = CASES[case]
    outcomes = []
    for armed in (True, False):
        dispatcher, registry = _dispatcher()
        first = _connect(dispatcher)
        dispatcher.handle(first, _upload())
        assert first.admitted is not None  # armed by a clean upload
        registry._by_mn[MN] = station
        conn = first if armed else _connect(dispatcher)
        outcomes.append(_outcome(dispatcher, conn, second))
    assert outcomes[0] == outcomes[1]


def test_a_connection_that_lost_its_mn_is_not_in_the_fast_lane() -> None:
    dispatcher, _ = _dispatcher()
    old = _connect(dispatcher)
    dispatcher.handle(old, _upload())
    new = _connect(dispatcher)
    dispatcher.handle(new, _upload())  # the station reconnected: the old one is unbound
    assert old.admitted is None and old.mns == ()
    assert dispatcher.sessions[MN] is new


def test_uploads_alike_take_the_fast_lane(monkeypatch: pytest.MonkeyPatch) -> None:
    import ingest.dispatch

    calls: list[str] = []
    full = ingest.dispatch.refusal

    def counted(*args: Any, **kw: Any) -> Any:
        calls.append("refusal")
        return full(*args, **kw)

    monkeypatch.setattr(ingest.dispatch, "refusal", counted)
    dispatcher, _ = _dispatcher()
    conn = _connect(dispatcher)
    for _ in range(3):
        dispatcher.handle(conn, _upload())
    assert calls == ["refusal"]  # the first only
    assert len(dispatcher.pipeline.items) == 3  # type: ignore[union-attr]
