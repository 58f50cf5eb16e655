"""SM4 encryption of the CP of HJ 212-2025 frames (sans-I/O).

HJ 212-2025 §6.4.2 and appendix A.2 (../shared/hj212/standard/HJ212-2025-NOTES.md §4):

* SM4 (GB/T 32907) with a 16-byte key, ECB, no padding, over the characters between
  ``CP=&&`` and the closing ``&&``; ``CP=&&``, the closing ``&&`` and the CRC stay plain;
* whole 16-byte groups are encrypted, a shorter tail is sent as it is; a region shorter than
  16 bytes is not encrypted at all;
* on the wire: ``{`` + each ciphertext byte as ``0x`` + two upper-case hex digits, separated
  by commas, + ``}``, then the plain tail;
* the CRC and ``LLLL`` are those of the *plaintext* segment (the frame is assembled first
  and encrypted afterwards); a receiver also accepts ``LLLL`` = the wire length.

The block cipher is ``cryptography``'s SM4 (OpenSSL); one encryptor/decryptor pair per key
is kept and fed whole blocks only, so ECB contexts are reused without re-keying.
"""

from __future__ import annotations

import functools
import re
import string
from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ._segment import parse_head

__all__ = [
    "KEY_BYTES",
    "Sm4",
    "Sm4FormatError",
    "decrypt_segment",
    "encrypt_frame",
    "encrypt_segment",
    "is_encrypted",
    "must_encrypt",
    "parse_key",
    "plain_head",
    "sm4_for",
]

KEY_BYTES: Final = 16
BLOCK: Final = 16
_CP: Final = b"CP=&&"
_OPEN: Final = b"CP=&&{"
_HEX_BYTE: Final = tuple(b"0x%02X" % i for i in range(256))
_WIRE_BYTES: Final = re.compile(rb"(?:0[xX][0-9A-Fa-f]{2},)*0[xX][0-9A-Fa-f]{2}")
_KEY_TEXT: Final = frozenset(string.printable) - frozenset(" \t\r\n\x0b\x0c")


class Sm4FormatError(ValueError):
    """An encrypted CP that cannot be read: no closing brace, malformed bytes, a ciphertext
    that is not a whole number of 16-byte blocks."""


def parse_key(text: str) -> bytes:
    """A key as the standard writes it (16 characters, e.g. ``0000000000000000`` = sixteen
    0x30 bytes) or as 32 hex digits → its 16 bytes."""
    if len(text) == 2 * KEY_BYTES and all(c in string.hexdigits for c in text):
        return bytes.fromhex(text)
    if len(text) == KEY_BYTES and all(c in _KEY_TEXT for c in text):
        return text.encode("ascii")
    raise ValueError(
        f"an SM4 key is 16 printable ASCII characters or 32 hex digits, not {len(text)} characters"
    )


class Sm4:
    """SM4-ECB with one key, on whole blocks."""

    __slots__ = ("_dec", "_enc")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"an SM4 key has {KEY_BYTES} bytes, not {len(key)}")
        cipher = Cipher(algorithms.SM4(key), modes.ECB())
        self._enc = cipher.encryptor()
        self._dec = cipher.decryptor()

    def encrypt(self, data: bytes) -> bytes:
        return self._enc.update(data)

    def decrypt(self, data: bytes) -> bytes:
        return self._dec.update(data)


@functools.lru_cache(maxsize=1 << 17)
def sm4_for(key: bytes) -> Sm4:
    """The cipher of ``key`` (one per key for the process's life)."""
    return Sm4(key)


def must_encrypt(cn: int) -> bool:
    """HJ 212-2025 §6.4.4: the commands whose CP is encrypted over the Internet — data
    (2000–2999), key exchange (1014) and field-device information (3020)."""
    return 2000 <= cn <= 2999 or cn in (1014, 3020)


def is_encrypted(segment: bytes) -> bool:
    """The data segment carries an encrypted CP (``CP=&&{``)."""
    return _OPEN in segment


def _close_of(segment: bytes, start: int) -> int:
    close = segment.rfind(b"&&")
    if close < start:
        raise Sm4FormatError("the CP has no closing '&&'")
    return close


def encrypt_segment(segment: bytes, sm4: Sm4) -> bytes:
    """The wire form of a plaintext data segment: its CP region encrypted in whole blocks."""
    at = segment.find(_CP)
    if at < 0:
        raise Sm4FormatError("the data segment has no 'CP=&&'")
    start = at + len(_CP)
    close = _close_of(segment, start)
    region = segment[start:close]
    whole = len(region) - len(region) % BLOCK
    if whole == 0:
        return segment
    cipher = sm4.encrypt(region[:whole])
    wire = b"{" + b",".join([_HEX_BYTE[b] for b in cipher]) + b"}"
    return segment[:start] + wire + region[whole:] + segment[close:]


def decrypt_segment(segment: bytes, sm4: Sm4) -> bytes:
    """The plaintext data segment of a wire segment with ``CP=&&{…}``."""
    at = segment.find(_OPEN)
    if at < 0:
        raise Sm4FormatError("the data segment has no encrypted CP ('CP=&&{')")
    start = at + len(_OPEN)
    end = segment.find(b"}", start)
    if end < 0:
        raise Sm4FormatError("the encrypted CP has no closing '}'")
    inner = segment[start:end]
    if not _WIRE_BYTES.fullmatch(inner):
        raise Sm4FormatError("the encrypted CP is not a list of 0xHH bytes separated by commas")
    count = (len(inner) + 1) // 5
    if count % BLOCK:
        raise Sm4FormatError(f"{count} encrypted bytes are not a whole number of 16-byte blocks")
    data = bytes.fromhex(inner.replace(b"0x", b"").replace(b"0X", b"").replace(b",", b" ").decode())
    _close_of(segment, end)
    return segment[: at + len(_CP)] + sm4.decrypt(data) + segment[end + 1 :]


def plain_head(frame: bytes) -> dict[str, str]:
    """The head fields (QN, ST, CN, PW, MN, Flag …) of a frame, encrypted or not: they are
    never encrypted.  Empty when the frame has no ``CP=&&``."""
    at = frame.find(_CP)
    if at < 0:
        return {}
    start = 6 if frame.startswith(b"##") else 0
    text = frame[start:at].decode("utf-8", errors="replace")
    return parse_head(text.rstrip(";"))


def encrypt_frame(frame: bytes, key: bytes) -> bytes:
    """A complete plaintext frame (``##LLLL…CCCC\\r\\n``) → the frame as sent encrypted:
    ``LLLL`` and CRC stay those of the plaintext, as the standard's examples have them."""
    if not (frame.startswith(b"##") and frame.endswith(b"\r\n") and len(frame) >= 12):
        raise Sm4FormatError("not a complete frame")
    head, segment, tail = frame[:6], frame[6:-6], frame[-6:]
    return head + encrypt_segment(segment, sm4_for(key)) + tail
