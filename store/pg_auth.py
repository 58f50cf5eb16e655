"""How clients prove themselves to the embedded cluster: the superuser's password file
and the authentication methods of ``pg_hba.conf``.

The cluster is initialised with ``--auth=scram-sha-256`` and a random password (from
:mod:`secrets`) that lives only in ``data_dir/superuser.password``: mode 0600, owned by
the account the server runs as (``initdb --pwfile`` reads it as that account; root, and
envgrid when it runs as that account, read it too).  A password file that group or
others could read is refused: whoever can read it is the database superuser.

Clusters made before this (``initdb --auth=trust``) are converted at start:
:func:`uses_trust` finds the ``trust`` lines and :func:`without_trust` gives the file
with ``scram-sha-256`` in their place (see :mod:`store.embedded`).

The DSN handed out carries the password; logs and command output show it through
:func:`store.config.mask_dsn`, and a child program (``psql``) gets it in its environment
(``PGPASSWORD``), never on its command line, where ``ps`` would show it to everyone:
:func:`split_password`.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path
from typing import Final
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from store.pg_installation import EmbeddedError

__all__ = [
    "PASSWORD_FILE",
    "SCRAM",
    "create_password_file",
    "read_password_file",
    "split_password",
    "user_with_password",
    "uses_trust",
    "without_trust",
]

#: The superuser's password, in the embedded cluster's ``data_dir``.
PASSWORD_FILE: Final = "superuser.password"
SCRAM: Final = "scram-sha-256"
#: 256 bits of randomness, URL-safe (no quoting needed in a DSN or in SQL).
_PASSWORD_BYTES: Final = 32
#: The field of a pg_hba.conf record that names the method: after type, database, user
#: (``local``) and the address (``host…``); a separate netmask moves it one further.
_METHOD_FIELD: Final = {"local": 3}
_HOST_METHOD_FIELD: Final = 4
_IP_ADDRESS: Final = re.compile(r"^[0-9.]+$|^[0-9a-fA-F:]+$")


def create_password_file(path: Path, owner: tuple[int, int] | None) -> str:
    """Write a new random password to ``path`` (which must not exist) with mode 0600,
    owned by ``owner`` (uid, gid) when given; return the password."""
    password = secrets.token_urlsafe(_PASSWORD_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        if owner is not None:
            os.fchown(fd, *owner)
        os.write(fd, f"{password}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return password


def read_password_file(path: Path) -> str:
    """The password in ``path``; refuses a file that is not a regular file of mode 0600
    or stricter (group or others could read or change the superuser's password)."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        raise EmbeddedError(
            f"the embedded cluster's password file {path} is missing; the cluster refuses"
            " connections without it (restore it from a backup of the data directory)"
        ) from None
    if not stat.S_ISREG(st.st_mode):
        raise EmbeddedError(f"the embedded cluster's password file {path} is not a regular file")
    if st.st_mode & 0o077:
        raise EmbeddedError(
            f"the embedded cluster's password file {path} has mode"
            f" {stat.filemode(st.st_mode)}: group or others can read the database"
            f" superuser's password; run `chmod 600 {path}` (and consider changing the"
            " password if others may have read it)"
        )
    password = path.read_text().strip()
    if not password:
        raise EmbeddedError(f"the embedded cluster's password file {path} is empty")
    return password


def _method_index(fields: list[str]) -> int | None:
    kind = fields[0]
    if kind in _METHOD_FIELD:
        return _METHOD_FIELD[kind]
    if not kind.startswith("host"):
        return None  # include directives and the like
    index = _HOST_METHOD_FIELD
    address = fields[3] if len(fields) > 3 else ""
    if "/" not in address and _IP_ADDRESS.match(address) and len(fields) > index + 1:
        index += 1  # "127.0.0.1 255.255.255.255 trust"
    return index


def uses_trust(hba: str) -> bool:
    """True if a record of ``hba`` (pg_hba.conf text) lets clients in by ``trust``."""
    return without_trust(hba) != hba


def without_trust(hba: str) -> str:
    """``hba`` with every ``trust`` method replaced by ``scram-sha-256`` (comments,
    spacing and every other record left as they are)."""
    lines = []
    for line in hba.splitlines(keepends=True):
        body, hash_, comment = line.partition("#")
        parts = re.split(r"(\s+)", body)  # fields at even indexes, spacing between
        fields = [p for p in parts[::2] if p]
        index = _method_index(fields) if fields else None
        if index is not None and index < len(fields) and fields[index] == "trust":
            seen = -1
            for i in range(0, len(parts), 2):
                if parts[i]:
                    seen += 1
                    if seen == index:
                        parts[i] = SCRAM
                        break
            lines.append("".join(parts) + hash_ + comment)
        else:
            lines.append(line)
    return "".join(lines)


def user_with_password(user: str, password: str) -> str:
    """The ``user:password`` part of a DSN."""
    return f"{quote(user, safe='')}:{quote(password, safe='')}"


def split_password(dsn: str) -> tuple[str, str | None]:
    """``dsn`` without its password, and the password (None if it has none): for a child
    program that gets the password in ``PGPASSWORD`` rather than on its command line."""
    parts = urlsplit(dsn)
    password: str | None = None
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user, colon, secret = userinfo.partition(":")
        if colon:
            password = unquote(secret)
            netloc = f"{user}@{hostinfo}"
    kept = []
    for item in (p for p in parts.query.split("&") if p):
        key, _, value = item.partition("=")
        if key == "password":
            password = unquote(value)
        else:
            kept.append(item)
    return urlunsplit((parts.scheme, netloc, parts.path, "&".join(kept), parts.fragment)), password
