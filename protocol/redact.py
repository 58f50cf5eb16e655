"""Secrets out of frames: the access password (``PW=`` in the head, ``NewPW=`` in the CP of a
set-password command, 1072) and a new SM4 key (``NewSK=``, HJ 212-2025 CN 1014) replaced by
``******`` before a frame is stored, logged or shown.

A masked frame no longer matches its CRC; the password of the station at that time makes
it whole again.  The mask has a fixed length so that it does not tell the password's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from .compiled import compiled, fastpath

__all__ = ["MASK", "SECRET_FIELDS", "mask_fields", "mask_frame", "mask_frame_text", "masked_text"]

MASK: Final = "******"
#: Field names whose values are secrets, wherever they stand.
SECRET_FIELDS: Final = frozenset({"PW", "NewPW", "NewSK"})

_PW: Final = re.compile(rb"PW=[^;,&\r\n]+")
_SK: Final = re.compile(rb"NewSK=[^;,&\r\n]+")
_MASK_BYTES: Final = MASK.encode("ascii")


def _starts_field(raw: bytes, at: int) -> bool:
    """Whether a field name found at ``at`` starts a field (it follows ``;`` ``,`` ``&`` or
    the frame's ``##dddd``), not the tail of another name."""
    if at <= 0:
        return False
    return raw[at - 1] in b";,&" or (at >= 6 and raw[at - 6 : at - 4] == b"##")


def _mask(raw: bytes, pattern: re.Pattern[bytes]) -> bytes:
    m = pattern.search(raw)
    if m is None:
        return raw
    parts: list[bytes] = []
    pos = 0
    while m is not None:
        at = m.start()
        name = at - 3 if raw[at - 3 : at] == b"New" else at  # NewPW
        if _starts_field(raw, name):
            eq = raw.index(b"=", at)
            parts += (raw[pos : eq + 1], _MASK_BYTES)
            pos = m.end()
        m = pattern.search(raw, m.end())
    parts.append(raw[pos:])
    return b"".join(parts)


def mask_frame(raw: bytes) -> bytes:
    """``raw`` with every ``PW``/``NewPW``/``NewSK`` value masked (an empty one stays empty)."""
    raw = _mask(raw, _PW)
    return _mask(raw, _SK) if b"NewSK=" in raw else raw


def _masked_text(raw: bytes) -> str:
    return mask_frame(raw).decode("utf-8", errors="replace")


#: ``mask_frame(raw)`` decoded as UTF-8, invalid bytes replaced: the ledger's ``raw`` text
#: (in C when protocol._fastpath is built: a regex pass and a join cost 1.9 µs a frame)
masked_text: Callable[[bytes], str] = compiled(fastpath, "masked_text") or _masked_text


def mask_frame_text(raw: str) -> str:
    """The same for a frame held as text."""
    return mask_frame(raw.encode("utf-8", errors="surrogateescape")).decode(
        "utf-8", errors="surrogateescape"
    )


def mask_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``fields`` (head or CP fields, command parameters) with secret values
    masked; nested mappings are masked too."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key in SECRET_FIELDS and value not in (None, ""):
            out[key] = MASK
        elif isinstance(value, Mapping):
            out[key] = mask_fields(value)
        else:
            out[key] = value
    return out
