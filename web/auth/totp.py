"""The TOTP second factor (RFC 6238, as authenticator apps implement it: SHA-1, 6 digits,
30-second steps) through pyotp, and its enrolment QR code through segno.

Pure: no database, no clock of its own (``now`` is passed in).  A code is accepted for
the current step and one step either side (clock drift between phone and server); the
caller refuses a step not later than the last accepted one, so a code works once.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Final

import pyotp
import segno

__all__ = ["ISSUER", "WINDOW", "matching_step", "new_secret", "provisioning_uri", "qr_svg"]

ISSUER: Final = "envgrid"
#: Steps accepted either side of the current one.
WINDOW: Final = 1
_CODE_LENGTH: Final = 6


def new_secret() -> str:
    """A random 160-bit secret, base32 (RFC 4226 §4 recommends 160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://totp/…`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as an SVG ``data:`` URI (the CSP allows data: images)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (unix time // 30) whose code ``code`` is, within :data:`WINDOW` of
    ``now``; None when it is none of them (or not 6 digits)."""
    code = code.strip().replace(" ", "")
    if len(code) != _CODE_LENGTH or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    found = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        # compare every candidate, in constant time, so the timing tells nothing
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found
