"""HJ 212-2025 CN 1001 identities and renamed factor names: table-driven."""

from __future__ import annotations

import pytest

from protocol import Decoder, Frame, encode_upload
from protocol.factors import NAMES_2025, factor_names
from protocol.identity import IdentityError, LoggerIdentity, logger_identity

EXAMPLE = [
    ("i23005-Info", "6970000000001ABCDEFG1234"),
    ("i23006-Info", "A800200A8C6D"),
    ("i23007-Info", "E86A643C7BBC"),
    ("i23008-Info", "A763742C1AE1"),
]


def frame(fields: list[tuple[str, str]]) -> Frame:
    raw = encode_upload(
        1001, st="22", mn="", pw="123456", edition="2025", qn="20240601085857223", fields=fields
    )
    [event] = Decoder().feed(raw)
    assert isinstance(event, Frame)
    return event


GOOD = [
    (
        "the notes' example",
        EXAMPLE,
        LoggerIdentity("6970000000001ABCDEFG1234", "A800200A8C6D", "E86A643C7BBC", "A763742C1AE1"),
    ),
    (
        "MACs with separators, lower case, no second MAC",
        [("i23005-Info", "L-1_a"), ("i23006-Info", "cpu1"), ("i23007-Info", "e8:6a:64:3c:7b:bc")],
        LoggerIdentity("L-1_a", "cpu1", "E86A643C7BBC", None),
    ),
    (
        "empty second MAC, dashes",
        [*EXAMPLE[:2], ("i23007-Info", "E8-6A-64-3C-7B-BC"), ("i23008-Info", "")],
        LoggerIdentity("6970000000001ABCDEFG1234", "A800200A8C6D", "E86A643C7BBC", None),
    ),
]


@pytest.mark.parametrize(("name", "fields", "expected"), GOOD, ids=[g[0] for g in GOOD])
def test_identity_read(name: str, fields: list[tuple[str, str]], expected: LoggerIdentity) -> None:
    assert logger_identity(frame(fields).values) == expected


BAD = [
    ("no logger id", EXAMPLE[1:], "i23005"),
    ("empty logger id", [("i23005-Info", ""), *EXAMPLE[1:]], "i23005"),
    ("logger id too long", [("i23005-Info", "A" * 33), *EXAMPLE[1:]], "i23005"),
    ("logger id with markup", [("i23005-Info", "<script>"), *EXAMPLE[1:]], "i23005"),
    ("logger id with a space", [("i23005-Info", "A B"), *EXAMPLE[1:]], "i23005"),
    ("logger id non-ASCII", [("i23005-Info", "数采仪1"), *EXAMPLE[1:]], "i23005"),
    ("no CPU ID", [EXAMPLE[0], *EXAMPLE[2:]], "i23006"),
    ("CPU ID too long", [EXAMPLE[0], ("i23006-Info", "C" * 65), *EXAMPLE[2:]], "i23006"),
    ("no MAC", [*EXAMPLE[:2]], "i23007"),
    ("MAC too short", [*EXAMPLE[:2], ("i23007-Info", "E86A643C7B")], "i23007"),
    ("MAC not hex", [*EXAMPLE[:2], ("i23007-Info", "G86A643C7BBC")], "i23007"),
    ("MAC mixed separators", [*EXAMPLE[:2], ("i23007-Info", "E8:6A-64:3C:7B:BC")], "i23007"),
    ("second MAC bad", [*EXAMPLE[:3], ("i23008-Info", "xyz")], "i23008"),
]


@pytest.mark.parametrize(("name", "fields", "field"), BAD, ids=[b[0] for b in BAD])
def test_identity_refused(name: str, fields: list[tuple[str, str]], field: str) -> None:
    with pytest.raises(IdentityError, match=field):
        logger_identity(frame(fields).values)


NAMES = [
    ("a01012", "2025", "废气温度"),
    ("a01012", "2017", "烟气温度"),
    ("a01012", None, "烟气温度"),
    ("a01011", "2025", "废气流速"),
    ("a01013", "2025", "废气压力"),
    ("a01014", "2025", "废气含湿量"),
    ("a00000", "2025", "废气流量"),
    ("a34013", "2025", "颗粒物（烟尘）"),
    ("a34013", "2017", "烟尘"),
    ("a01901", "2025", "炉膛温度"),
    ("a21026", "2025", "二氧化硫"),  # not renamed: the 2017 name
]


@pytest.mark.parametrize(("code", "edition", "name_zh"), NAMES)
def test_factor_names_by_edition(code: str, edition: str | None, name_zh: str) -> None:
    names = factor_names(code, edition)
    assert names is not None and names[0] == name_zh


def test_renamed_codes_are_known_2017_codes() -> None:
    assert factor_names("nope", "2025") is None
    for code in NAMES_2025:
        assert factor_names(code, "2017") is not None
