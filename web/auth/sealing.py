"""The TOTP secrets at rest: sealed (Fernet: AES-128-CBC + HMAC-SHA256, from the
``cryptography`` library) with a key kept in a file beside the data, not in the database.

So a database dump, a backup, a replica or anyone who can read ``web_user_totp`` gets no
usable secret.  The key file (``web.totp_key_file``, default ``core.data_dir/totp.key``)
is made on first start, readable by its owner only; a key file others may read is
refused.  Lose the file and every authenticator is lost with it: the users' second
factors must be reset (``envgrid user reset-2fa``) and enrolled again.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from store.validation import ConfigError

__all__ = ["InvalidToken", "SecretBox", "load_box"]


class SecretBox:
    """Seals and opens the TOTP secrets with one key."""

    __slots__ = ("_fernet",)

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """The secret; :class:`InvalidToken` when sealed with another key (or altered)."""
        return self._fernet.decrypt(sealed.encode()).decode()


def _create(path: Path) -> None:
    """Write a new key to ``path`` unless it exists: a complete file appears at once
    (written aside, then hard-linked), so two processes starting together agree."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".totp-key-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key() + b"\n")
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def load_box(path: Path) -> SecretBox:
    """The box of the key in ``path`` (made if missing); :class:`ConfigError` when the file
    is readable by others or holds no key."""
    if not path.exists():
        _create(path)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"web.totp_key_file {path} may be read by others (mode {stat.filemode(mode)}):"
            f" chmod 600 {path}"
        )
    try:
        return SecretBox(path.read_bytes().strip())
    except ValueError as exc:
        raise ConfigError(f"web.totp_key_file {path} holds no Fernet key ({exc})") from None
