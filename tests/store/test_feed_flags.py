"""store.feed: the flag column survives the round trip however the flags are spread (one
flag for every value takes a shortcut)."""

from __future__ import annotations

import pytest

from store.feed import decode_columns, encode_columns


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["N"] * 5, ["N"] * 5),
        ([None] * 5, [None] * 5),
        ([""] * 3, [None] * 3),
        (["N", None, "N", "D", ""], ["N", None, "N", "D", None]),
        (["D"], ["D"]),
    ],
)
def test_flags_round_trip(flags: list[str | None], expected: list[str | None]) -> None:
    n = len(flags)
    (payload,) = encode_columns("r", [1] * n, [2] * n, [1.0] * n, [0.5] * n, flags)
    assert list(decode_columns(payload).flags) == expected
