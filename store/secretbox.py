"""Secrets at rest: station passwords and SM4 keys, and the dashboard users' TOTP secrets, are
kept in the database sealed with AES-256-GCM under a key that lives outside the database, in a file
of the data directory (``core.secret_key_file``, default ``<data_dir>/secret.key``, mode
0600).  A database dump or a read-only SQL user then sees ``enc:v1:…``, not the password.

HJ 212 checks the station's plain ``PW`` on every frame, so the value must be recoverable
(a hash would not do); the ingest workers open it once when they load the registry.

Sealed text: ``enc:v1:`` + urlsafe base64 of nonce (12 bytes) ‖ ciphertext ‖ tag.  The
purpose (``"station.password"``…) is bound as associated data, so a value copied into a
column of another purpose does not open.  A value without the prefix is a legacy plain
value (written before this module, or by a test or a bulk import); :meth:`SecretBox.open`
returns it as it is and :func:`seal_plain_passwords` seals such values in place.

Every host that shares the database needs the same key file; losing it loses the stored
secrets (set the passwords and keys again with ``envgrid station set MN …``; users enrol
their authenticator again after ``envgrid user reset-2fa``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import secrets
import stat
from pathlib import Path
from typing import Final

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "PREFIX",
    "SM4_KEY",
    "STATION_PASSWORD",
    "TOTP_SECRET",
    "SecretBox",
    "SecretBoxError",
    "box_for",
    "is_sealed",
    "seal_plain_passwords",
]

PREFIX: Final = "enc:v1:"
#: Purpose of the station access password (``stations.password``, ``pending_stations.password``,
#: the ``NewPW`` of a set-password command waiting to be sent).
STATION_PASSWORD: Final = "station.password"
#: Purpose of a station's SM4 key (HJ 212-2025; ``stations.sm4_key``, ``sm4_prev_key``).
SM4_KEY: Final = "station.sm4_key"
#: Purpose of a dashboard user's TOTP secret (``web_user_totp.secret_sealed``).
TOTP_SECRET: Final = "web.totp"
_KEY_BYTES: Final = 32
_NONCE_BYTES: Final = 12


class SecretBoxError(ValueError):
    """The key file is unusable, or a sealed value does not open with this key."""


def is_sealed(value: str | None) -> bool:
    return value is not None and value.startswith(PREFIX)


class SecretBox:
    """Seal and open short secrets with one AES-256-GCM key."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != _KEY_BYTES:
            raise SecretBoxError(f"the secret key must be {_KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)

    @classmethod
    def from_file(cls, path: Path, *, create: bool = True) -> SecretBox:
        """The key of ``path`` (base64 of 32 bytes); created with mode 0600 when missing and
        ``create``.  A file that others can read or write is refused."""
        try:
            return cls(_read_key(path))
        except FileNotFoundError:
            if not create:
                raise SecretBoxError(f"secret key file {path} does not exist") from None
            return cls(_create_key_file(path))

    def seal(self, plain: str, purpose: str) -> str:
        """The sealed form of ``plain`` (an empty value stays empty: "no password")."""
        if plain == "" or is_sealed(plain):
            return plain
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plain.encode("utf-8"), purpose.encode("ascii"))
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, stored: str, purpose: str) -> str:
        """The plain value of ``stored`` (a legacy plain value is returned as it is)."""
        if not is_sealed(stored):
            return stored
        try:
            blob = base64.urlsafe_b64decode(stored[len(PREFIX) :].encode("ascii"))
            nonce, sealed = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
            return self._aead.decrypt(nonce, sealed, purpose.encode("ascii")).decode("utf-8")
        except (binascii.Error, ValueError, InvalidTag):
            raise SecretBoxError(
                f"a sealed {purpose} does not open with this key (another host's key file,"
                " or a damaged value)"
            ) from None


def _read_key(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SecretBoxError(f"secret key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(f.fileno()).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SecretBoxError(
                f"secret key file {path} is accessible to other users (mode"
                f" {stat.S_IMODE(mode):04o}); run: chmod 600 {path}"
            )
        text = f.read(200)
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        raise SecretBoxError(f"secret key file {path} does not hold base64 text") from None
    if len(key) != _KEY_BYTES:
        raise SecretBoxError(f"secret key file {path} holds {len(key)} bytes, not {_KEY_BYTES}")
    return key


def _create_key_file(path: Path) -> bytes:
    key = secrets.token_bytes(_KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return _read_key(path)
    with os.fdopen(fd, "wb") as f:
        f.write(base64.b64encode(key) + b"\n")
        f.flush()
        os.fsync(f.fileno())
    return key


@functools.lru_cache(maxsize=4)
def box_for(path: Path) -> SecretBox:
    """The process's box for the key file ``path`` (read, or created, once)."""
    return SecretBox.from_file(path)


#: (select, update, purpose) of every secret column kept sealed: plain values to seal.
_SEALED_COLUMNS: Final = (
    (
        "SELECT id AS k, password AS v FROM stations"
        " WHERE password <> '' AND password NOT LIKE 'enc:v1:%'",
        "UPDATE stations SET password = $2 WHERE id = $1 AND password = $3",
        STATION_PASSWORD,
    ),
    (
        "SELECT mn AS k, password AS v FROM pending_stations"
        " WHERE password <> '' AND password NOT LIKE 'enc:v1:%'",
        "UPDATE pending_stations SET password = $2 WHERE mn = $1 AND password = $3",
        STATION_PASSWORD,
    ),
    (
        "SELECT id AS k, sm4_key AS v FROM stations"
        " WHERE sm4_key <> '' AND sm4_key NOT LIKE 'enc:v1:%'",
        "UPDATE stations SET sm4_key = $2 WHERE id = $1 AND sm4_key = $3",
        SM4_KEY,
    ),
    (
        "SELECT id AS k, sm4_prev_key AS v FROM stations"
        " WHERE sm4_prev_key <> '' AND sm4_prev_key NOT LIKE 'enc:v1:%'",
        "UPDATE stations SET sm4_prev_key = $2 WHERE id = $1 AND sm4_prev_key = $3",
        SM4_KEY,
    ),
)


async def seal_plain_passwords(conn: asyncpg.Connection, box: SecretBox) -> int:
    """Seal the plain secrets left in the registry (passwords and SM4 keys written before
    sealing existed, bulk imports, simulated fleets, tests); returns how many were sealed."""
    n = 0
    for select, update, purpose in _SEALED_COLUMNS:
        rows = await conn.fetch(select)
        if rows:
            await conn.executemany(
                update, [(r["k"], box.seal(r["v"], purpose), r["v"]) for r in rows]
            )
            n += len(rows)
    return n
