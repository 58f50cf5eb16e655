"""Protocol errors of the HJ 212 codec.

The decoder never raises on peer input: every fault becomes a
:class:`FrameError` event with one of the codes below, the stream offset where
the offending bytes start and a short excerpt.  Exceptions out of the codec are
bugs.  :class:`EncodeError` is raised by encoders for bad arguments (a caller
bug, not a peer fault).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EncodeError", "ErrorCode", "ProtocolError"]


class ErrorCode(StrEnum):
    """Why a frame was rejected (the ``error`` field of ``envgrid decode``)."""

    #: the CRC field does not match the HJ 212 CRC of the data segment
    CRC_MISMATCH = "crc_mismatch"
    #: ``LLLL`` disagrees with where the frame really ends (the CRLF)
    BAD_LENGTH = "bad_length"
    #: ``LLLL`` above the configured cap (1024 by the standard)
    OVERSIZE = "oversize"
    #: ``##`` not followed by 4 digits, or a data segment without CN / ``CP=&&``
    BAD_HEADER = "bad_header"
    #: the frame never ended: no CRLF before the next ``##``, the cap or end of stream
    TRUNCATED = "truncated"
    #: bytes between frames that are not part of any frame
    GARBAGE = "garbage"
    #: an encrypted CP (HJ 212-2025, ``CP=&&{``) from an MN without an SM4 key
    SM4_NO_KEY = "sm4_no_key"
    #: an encrypted CP that cannot be read (malformed bytes, not whole 16-byte blocks)
    SM4_BAD_CIPHERTEXT = "sm4_bad_ciphertext"


class ProtocolError(Exception):
    """Base class for codec exceptions (encoders only; the decoder never raises)."""


class EncodeError(ProtocolError, ValueError):
    """An encoder was given something it cannot put on the wire."""
