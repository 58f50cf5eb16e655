"""protocol.redact: secrets out of frames, table-driven."""

from __future__ import annotations

import pytest

from protocol.redact import mask_fields, mask_frame, mask_frame_text


@pytest.mark.parametrize(
    ("frame", "masked"),
    [
        ("QN=1;ST=32;CN=2011;PW=123456;MN=M;CP=&&&&", "QN=1;ST=32;CN=2011;PW=******;MN=M;CP=&&&&"),
        ("QN=1;CN=1072;PW=a;MN=M;CP=&&NewPW=b&&", "QN=1;CN=1072;PW=******;MN=M;CP=&&NewPW=******&&"),
        (
            "QN=1;CN=1014;PW=a;CP=&&SKCreateTime=1,NewSK=0000000000000000&&",
            "QN=1;CN=1014;PW=******;CP=&&SKCreateTime=1,NewSK=******&&",
        ),
        ("##0050PW=x;MN=2", "##0050PW=******;MN=2"),  # PW first (2005 order)
        ("ST=32;PW=;MN=3", "ST=32;PW=;MN=3"),  # empty: nothing to hide, nothing invented
        ("ST=32;SPW=1;XNewPW=2;MN=3", "ST=32;SPW=1;XNewPW=2;MN=3"),  # other names
        ("no frame at all", "no frame at all"),
    ],
)
def test_mask_frame(frame: str, masked: str) -> None:
    assert mask_frame_text(frame) == masked
    assert mask_frame(frame.encode()) == masked.encode()


def test_mask_fields() -> None:
    assert mask_fields({"PW": "a", "MN": "b", "NewSK": "k", "values": {"NewPW": "c"}}) == {
        "PW": "******",
        "MN": "b",
        "NewSK": "******",
        "values": {"NewPW": "******"},
    }
    assert mask_fields({"PW": ""}) == {"PW": ""}
