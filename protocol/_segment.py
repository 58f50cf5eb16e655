"""Parsing of the HJ 212 data segment (between ``##LLLL`` and the CRC).

Head: an *unordered* ``key=value`` set up to ``CP=&&`` (QN, ST, CN, PW, MN,
Flag, PNUM, PNO; [S17] table 3, [S05] 6.3.2 lists another order).  CP body:
``key=value`` items separated by ``;``, values of one item by ``,``
([S17] 6.3.3).  The sloppiness of the standards' own examples is tolerated
(PROTOCOL.md §2): ``Flag=5CP=&&``, a comma instead of ``;`` in the head,
spaces around keys, a CP missing its final ``&``, ``//…//`` info text that
may hold separators, and 2005 codes without their ``w``.

Everything here is pure string work; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["parse_cp", "parse_head", "split_segment"]

_CP_MARK = "CP=&&"


def split_segment(text: str) -> tuple[str, str] | None:
    """Split a data segment into (head, CP body); None when there is no ``CP=&&``."""
    idx = text.find(_CP_MARK)
    if idx < 0:
        return None
    head = text[:idx]
    start = idx + 5
    end = text.rfind("&&")
    if end >= start:
        body = text[start:end]
    else:  # "CP=&&...&" — the final '&' is missing ([S17] C.46)
        body = text[start:].rstrip("&")
    return head, body


def parse_head(head: str) -> dict[str, str]:
    """``QN=…;ST=…;CN=…`` → dict, in any order, tolerating ``,`` and spaces."""
    out: dict[str, str] = {}
    for part in head.split(";"):
        if not part:
            continue
        if "," in part and part.count("=") > 1:  # "QN=…,ST=32" ([S17] C.22, C.48)
            for sub in part.split(","):
                key, _, value = sub.partition("=")
                if key:
                    out[key.strip()] = value.strip()
            continue
        key, _, value = part.partition("=")
        out[key.strip()] = value.strip() if " " in value else value
    return out


def _protected_pairs(body: str) -> list[str]:
    """Split a CP body that holds ``//…//`` text, keeping separators inside the text."""
    pairs: list[str] = []
    current: list[str] = []
    i = 0
    n = len(body)
    while i < n:
        ch = body[i]
        if ch == "/" and body.startswith("//", i):
            close = body.find("//", i + 2)
            if close < 0:
                current.append(body[i:])
                break
            current.append(body[i : close + 2])
            i = close + 2
            continue
        if ch in ";,":
            pairs.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    pairs.append("".join(current))
    return pairs


def parse_cp(body: str) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """CP body → (per-factor fields, other keys).

    ``a21026-Rtd=8.0,a21026-Flag=N`` becomes ``{"a21026": {"Rtd": "8.0", "Flag": "N"}}``;
    keys without ``-`` (``DataTime``, ``QnRtn``, ``PolId`` …) go to the second dict.
    A key sent twice (``PolId=101;PolId=102``) keeps every value, comma-joined.
    Values are kept exactly as sent.
    """
    values: dict[str, dict[str, str]] = {}
    fields: dict[str, str] = {}
    if not body:
        return values, fields
    if "//" in body:
        pairs = _protected_pairs(body)
    elif "," in body:  # ";" and "," separate alike outside //…// text
        pairs = body.replace(",", ";").split(";")
    else:
        pairs = body.split(";")
    strip = " " in body
    entry_of = values.get
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if strip:
            key = key.strip()
            value = value.strip()
        if not key:
            continue
        code, dash, field = key.partition("-")
        if dash:
            entry = entry_of(code)
            if entry is None:
                values[code] = {field: value}
            else:
                entry[field] = value
        elif key in fields:
            fields[key] = f"{fields[key]},{value}"
        else:
            fields[key] = value if sep else ""
    return values, fields


def get_int(head: Mapping[str, str], key: str) -> int | None:
    """An integer head field, or None when absent or not a number."""
    text = head.get(key)
    if text is None:
        return None
    text = text.strip()
    if text.isascii() and text.isdigit():
        return int(text)
    return None
