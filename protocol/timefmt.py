"""HJ 212 time fields: ``YYYYMMDDhhmmss`` (N14) and the 17-digit QN form.

Times on the wire are the station's local wall-clock time without a zone;
attaching the zone (Asia/Shanghai by default) is the caller's job.  Pure: no
clock is read here.
"""

from __future__ import annotations

from datetime import datetime

__all__ = ["format_qn", "format_time", "parse_time"]


def parse_time(text: str | None) -> datetime | None:
    """``20160801085857`` (14 digits) or ``20160824003817000`` (17, with ms) → naive
    datetime; ``YYYYMMDDhhmm`` (12) is accepted too.  None when malformed."""
    if not text:
        return None
    text = text.strip()
    n = len(text)
    if not (text.isascii() and text.isdigit()) or n not in (12, 14, 17):
        return None
    try:
        return datetime(
            int(text[0:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[8:10]),
            int(text[10:12]),
            int(text[12:14]) if n >= 14 else 0,
            int(text[14:17]) * 1000 if n == 17 else 0,
        )
    except ValueError:
        return None


def format_time(moment: datetime) -> str:
    """N14 ``YYYYMMDDhhmmss`` (DataTime, SystemTime, BeginTime …)."""
    return moment.strftime("%Y%m%d%H%M%S")


def format_qn(moment: datetime) -> str:
    """The 17-digit request number ``YYYYMMDDhhmmsszzz`` ([S17] table 3)."""
    return moment.strftime("%Y%m%d%H%M%S") + f"{moment.microsecond // 1000:03d}"
