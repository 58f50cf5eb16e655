"""HJ 212-2025 CN 1001: a data logger without an MN announces its hardware identity.

``CP=&&i23005-Info=<logger id>;i23006-Info=<CPU ID>;i23007-Info=<MAC 1>;i23008-Info=<MAC 2>&&``
with the header MN empty; the platform answers 9013 and, once an operator assigned an MN,
sends CN 1002 (``MN=<assigned>`` in the head, ``CP=&&i23005-Info=<logger id>&&``).

The fields come from anyone who can open a socket, and end up on an operator's pending
list, so they are checked strictly (HJ212-2025-NOTES §5 gives the examples
``6970000000001ABCDEFG1234``, ``A800200A8C6D``, ``E86A643C7BBC``, ``A763742C1AE1``):

* logger id (i23005-Info): 1–32 characters of ``0-9 A-Z a-z - _``;
* CPU ID (i23006-Info): 1–64 characters of the same set;
* MAC (i23007-Info required, i23008-Info optional or empty): 12 hex digits, or six pairs
  separated by ``:`` or ``-``; kept as 12 uppercase hex digits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["ASSIGN_CN", "IDENTITY_CN", "IdentityError", "LoggerIdentity", "logger_identity"]

#: CN 1001 (logger → platform) and CN 1002 (platform → logger) of HJ 212-2025
IDENTITY_CN: Final = 1001
ASSIGN_CN: Final = 1002

_ID: Final = re.compile(r"[0-9A-Za-z_-]{1,32}")
_CPU: Final = re.compile(r"[0-9A-Za-z_-]{1,64}")
_MAC: Final = re.compile(
    r"[0-9A-Fa-f]{12}|[0-9A-Fa-f]{2}(?:([:-])[0-9A-Fa-f]{2})(?:\1[0-9A-Fa-f]{2}){4}"
)


class IdentityError(ValueError):
    """A 1001 frame whose identity fields are missing or malformed."""


@dataclass(frozen=True, slots=True)
class LoggerIdentity:
    logger_id: str
    cpu_id: str
    mac1: str
    mac2: str | None


def _mac(text: str, name: str) -> str:
    if _MAC.fullmatch(text) is None:
        raise IdentityError(f"{name} is not a MAC address (12 hex digits)")
    return text.replace(":", "").replace("-", "").upper()


def logger_identity(values: Mapping[str, Mapping[str, str]]) -> LoggerIdentity:
    """The identity in a 1001 frame's factor fields (``frame.values``)."""

    def info(code: str) -> str | None:
        fields = values.get(code)
        return None if fields is None else fields.get("Info")

    logger_id, cpu_id, mac1, mac2 = (info(c) for c in ("i23005", "i23006", "i23007", "i23008"))
    if logger_id is None or _ID.fullmatch(logger_id) is None:
        raise IdentityError("i23005-Info (logger id) must be 1-32 characters of 0-9 A-Z a-z - _")
    if cpu_id is None or _CPU.fullmatch(cpu_id) is None:
        raise IdentityError("i23006-Info (CPU ID) must be 1-64 characters of 0-9 A-Z a-z - _")
    if mac1 is None:
        raise IdentityError("i23007-Info (MAC 1) is missing")
    return LoggerIdentity(
        logger_id,
        cpu_id,
        _mac(mac1, "i23007-Info"),
        _mac(mac2, "i23008-Info") if mac2 else None,
    )
