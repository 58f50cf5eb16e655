"""Whether a frame from a registered station is let in, and what about it is worth
counting: pure functions over the registry entry and the decoded frame.

Refused (the reason is the ``envgrid_frame_errors{kind}`` label): a disabled station; one
whose stored password does not open with this host's key; one registered without a
password (unless ``ingest.allow_empty_passwords``, issue 16 finding 9); a wrong or missing
PW; a frame of another edition than the registered one when the station is strict.

Flagged (accepted, ``envgrid_frames_flagged{kind}``): ``edition_mismatch`` (not strict),
``unencrypted`` (HJ 212-2025 data in clear from a station that has an SM4 key: §6.4.1 asks
for encryption over the Internet, a private network only "should"), ``backfill`` (RF=1)
and ``previous_sm4_key`` (decrypted with the key being rotated out).
"""

from __future__ import annotations

from protocol import Frame
from protocol.sm4 import must_encrypt

from .registry import Station

__all__ = ["flags", "refusal"]


def refusal(
    station: Station, frame: Frame, *, allow_empty_passwords: bool
) -> tuple[str, str] | None:
    """(reason, detail) when the frame is refused, else None."""
    mn = station.mn
    if not station.enabled:
        return "disabled_station", f"station {mn} is disabled"
    if station.password is None:
        return "password_unreadable", f"stored PW of {mn} does not open"
    if not station.password and not allow_empty_passwords:
        return "no_password", f"{mn} is registered without a password"
    if frame.pw is None:
        if station.password:
            return "bad_password", f"no PW from {mn}"
    elif frame.pw != station.password:
        return "bad_password", f"wrong PW for {mn}"
    if station.strict_edition and _other_edition(station, frame):
        return "edition_mismatch", edition_detail(station, frame)
    return None


def flags(station: Station, frame: Frame) -> list[str]:
    """What is worth counting about an accepted frame."""
    out = []
    if _other_edition(station, frame):
        out.append("edition_mismatch")
    if (
        station.sm4_keys
        and frame.edition == "2025"
        and not frame.encrypted
        and must_encrypt(frame.cn)
    ):
        out.append("unencrypted")
    if frame.backfill:
        out.append("backfill")
    if "sm4_previous_key" in frame.notes:
        out.append("previous_sm4_key")
    return out


def edition_detail(station: Station, frame: Frame) -> str:
    return f"{station.mn} is registered as HJ 212-{station.edition}, sent {frame.edition}"


def _other_edition(station: Station, frame: Frame) -> bool:
    return station.edition is not None and frame.edition != station.edition
