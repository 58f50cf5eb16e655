"""Re-encoding a stored frame for an upstream platform (pure).

The packet ledger keeps every accepted frame as received, in plain text (a 2025 frame is
stored decrypted) with the station's password masked.  For a target the head is rebuilt:
the forwarder's own ``QN``, the station's ``ST`` and ``CN``, the target's ``PW``, the mapped
``MN``, a ``Flag`` with the target edition's version bits, the ack bit ([S17] 6.3.3: the
upstream answers 9014) and the split bit when the frame was part of a split group
(``PNUM``/``PNO`` kept).  The CP body is sent as the station sent it.  For an HJ 212-2025
target a late frame carries ``RF=1`` (补传, HJ 212-2025 §6.3.2) and, with a key, the CP is
SM4-encrypted (:func:`protocol.sm4.encrypt_frame`).

A frame is *late* when the station marked it (RF=1) or when it is sent more than its
period plus a grace after its DataTime (:func:`is_late`): history replies, backfill, and
whatever waited in the backlog through an upstream outage.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

from protocol.encoders import encode_frame, segment
from protocol.sm4 import encrypt_frame

__all__ = ["LATE_AFTER", "StoredFrameError", "is_late", "reencode"]

#: Flag version bits per target edition (V5–V0 = 1 for 2017, 2 for 2025).
_VERSION: Final[Mapping[str, int]] = {"2017": 1, "2025": 2}
#: Period + grace after DataTime beyond which a frame is late, per CN.
LATE_AFTER: Final[Mapping[int, timedelta]] = {
    2011: timedelta(minutes=10),
    2051: timedelta(minutes=20),
    2061: timedelta(hours=2),
    2031: timedelta(days=2),
}
_DEFAULT_LATE_AFTER: Final = timedelta(hours=2)


class StoredFrameError(ValueError):
    """A ledger row whose raw text is not a frame (it cannot be forwarded)."""


def is_late(cn: int, data_time: datetime, now: datetime, *, backfill: bool) -> bool:
    return backfill or now - data_time > LATE_AFTER.get(cn, _DEFAULT_LATE_AFTER)


def _split(raw: str) -> tuple[list[tuple[str, str]], str]:
    text = raw.rstrip("\r\n")
    if len(text) < 14 or not text.startswith("##"):
        raise StoredFrameError("stored frame does not start with ##LLLL")
    seg = text[6:-4]
    at = seg.find("CP=&&")
    if at < 0 or not seg.endswith("&&") or len(seg) < at + 7:
        raise StoredFrameError("stored frame has no CP=&&…&&")
    head: list[tuple[str, str]] = []
    for part in seg[:at].split(";"):
        if part:
            key, _, value = part.partition("=")
            head.append((key, value))
    return head, seg[at + 5 : -2]


def reencode(
    raw: str,
    *,
    qn: str,
    password: str,
    mn: str,
    edition: str,
    late: bool,
    sm4_key: bytes | None = None,
) -> bytes:
    """The frame the upstream gets for stored frame ``raw`` (see the module docstring)."""
    head, cp = _split(raw)
    fields = dict(head)
    st, cn = fields.get("ST"), fields.get("CN")
    if not st or not cn:
        raise StoredFrameError("stored frame has no ST or CN")
    split = "PNUM" in fields and "PNO" in fields
    flag = (_VERSION[edition] << 2) | 1 | (2 if split else 0)
    items: list[tuple[str, str | int | None]] = [
        ("QN", qn),
        ("ST", st),
        ("CN", cn),
        ("PW", password),
        ("MN", mn),
        ("Flag", flag),
    ]
    if split:
        items += [("PNUM", fields["PNUM"]), ("PNO", fields["PNO"])]
    if edition == "2025" and late:
        items.append(("RF", 1))
    frame = encode_frame(segment(items, cp))
    return frame if sm4_key is None else encrypt_frame(frame, sm4_key)
