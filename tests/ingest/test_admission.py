"""ingest.admission: which frames of a registered station are refused or flagged,
table-driven over registry entries and decoded frames."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.admission import flags, refusal
from ingest.registry import Station
from protocol import Decoder, Frame, encode_upload
from protocol.sm4 import parse_key

KEY = parse_key("0000000000000000")


def _frame(pw: str = "pw", edition: str = "2017", **kw: Any) -> Frame:
    """A decoded upload (``pw=""``: the PW field left empty)."""
    raw = encode_upload(
        2011,
        st="22",
        mn="M1",
        pw=pw,
        edition=edition,
        qn="20261121100000001",
        data_time="20261121100000",
        values={"a34004": {"Rtd": "1"}},
        **kw,
    )
    [frame] = Decoder(sm4_keys=lambda _mn: [KEY]).feed(raw)
    assert isinstance(frame, Frame)
    return frame


def _station(**kw: Any) -> Station:
    values: dict[str, Any] = {
        "id": 1,
        "mn": "M1",
        "password": "pw",
        "enabled": True,
        "modbus_crc": False,
    }
    values.update(kw)
    return Station(**values)


@pytest.mark.parametrize(
    ("station", "frame", "allow_empty", "reason"),
    [
        (_station(), _frame(), False, None),
        (_station(enabled=False), _frame(), False, "disabled_station"),
        (_station(password=None), _frame(), False, "password_unreadable"),
        (_station(password=""), _frame(pw=""), False, "no_password"),
        (_station(password=""), _frame(pw=""), True, None),
        (_station(), _frame(pw="other"), False, "bad_password"),
        (_station(edition="2025"), _frame(), False, None),  # flagged, not refused
        (_station(edition="2025", strict_edition=True), _frame(), False, "edition_mismatch"),
        (_station(edition="2025", strict_edition=True), _frame(edition="2025"), False, None),
    ],
)
def test_refusal(station: Station, frame: Frame, allow_empty: bool, reason: str | None) -> None:
    got = refusal(station, frame, allow_empty_passwords=allow_empty)
    assert (got[0] if got else None) == reason


@pytest.mark.parametrize(
    ("station", "frame", "expected"),
    [
        (_station(), _frame(), []),
        (_station(edition="2025"), _frame(), ["edition_mismatch"]),
        (_station(edition="2025", sm4_keys=(KEY,)), _frame(edition="2025"), ["unencrypted"]),
        (_station(edition="2025", sm4_keys=(KEY,)), _frame(edition="2025", sm4_key=KEY), []),
        (_station(), _frame(edition="2025", backfill=True), ["backfill"]),
    ],
)
def test_flags(station: Station, frame: Frame, expected: list[str]) -> None:
    assert flags(station, frame) == expected
