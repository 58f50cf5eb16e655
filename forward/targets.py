"""Forwarding targets as values: what an operator gives (``envgrid forward add …``, the
admin page) checked into a :class:`TargetSpec`, and the MN map CSV.

Pure: no database, no sockets.  Every check raises :class:`ForwardError` with a message
that names the field, in English and Chinese (the CLI prints it, the page shows it).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from protocol.sm4 import parse_key

__all__ = [
    "DEFAULT_CNS",
    "EDITIONS",
    "FORWARDABLE_CNS",
    "ForwardError",
    "Target",
    "TargetSpec",
    "format_mn_map",
    "parse_cns",
    "parse_mn_map",
    "parse_mns",
    "parse_since",
]

#: The data uploads forwarded when ``--cn`` is not given: real-time, minute, hour, day.
DEFAULT_CNS: Final = (2011, 2051, 2061, 2031)
#: The CNs a target may select: data and status uploads a station sends ([S17] table 6).
FORWARDABLE_CNS: Final = frozenset({2011, 2051, 2061, 2031, 2021, 2041, 2013, 2052, 2062, 2111})
#: Editions an upstream may speak.
EDITIONS: Final = ("2017", "2025")
_NAME: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_MN: Final = re.compile(r"[0-9A-Za-z_-]{1,32}")
_MAX_MAP_ROWS: Final = 100_000


class ForwardError(ValueError):
    """A target that cannot be used, or an MN map that cannot be read."""


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """A target as an operator gives it (plain secrets: they are sealed before storing)."""

    name: str
    host: str
    port: int
    password: str = ""
    edition: str = "2017"
    sm4_key: str | None = None
    cns: tuple[int, ...] = DEFAULT_CNS
    stations: tuple[str, ...] = ()  # MNs; empty = every station
    mn_map: Mapping[str, str] = field(default_factory=dict)
    backlog_alert_minutes: int = 30

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ForwardError(
                f"target name {self.name!r}: 1-64 letters, digits, '_', '.', '-'"
                " (名称只能包含字母、数字、_ . -)"
            )
        if not self.host or any(c in self.host for c in " /\\;"):
            raise ForwardError(f"host {self.host!r} is not a host name or address (主机地址无效)")
        if not 1 <= self.port <= 65535:
            raise ForwardError(f"port {self.port} is not 1-65535 (端口须为 1-65535)")
        if self.edition not in EDITIONS:
            raise ForwardError(
                f"edition {self.edition!r}: 2017 or 2025 (标准版本须为 2017 或 2025)"
            )
        if self.sm4_key is not None:
            if self.edition != "2025":
                raise ForwardError("--sm4-key needs --edition 2025 (SM4 加密仅用于 HJ 212-2025)")
            try:
                parse_key(self.sm4_key)
            except ValueError as exc:
                raise ForwardError(f"SM4 key: {exc} (SM4 密钥无效)") from None
        if any(c in self.password for c in ";,=&\r\n"):
            raise ForwardError(
                "the password may not contain ; , = & or line breaks (密码含非法字符)"
            )
        if not self.cns:
            raise ForwardError("no CN selected (至少选择一个数据类型)")
        bad = sorted(set(self.cns) - FORWARDABLE_CNS)
        if bad:
            raise ForwardError(
                f"CN {', '.join(map(str, bad))} cannot be forwarded; choose among"
                f" {', '.join(map(str, sorted(FORWARDABLE_CNS)))} (不支持转发该 CN)"
            )
        if self.backlog_alert_minutes <= 0:
            raise ForwardError("--alert-after must be > 0 minutes (积压告警时长须大于 0)")

    @property
    def sm4_key_bytes(self) -> bytes | None:
        return None if self.sm4_key is None else parse_key(self.sm4_key)


@dataclass(frozen=True, slots=True)
class Target:
    """A stored target as the forwarder runs it (secrets opened)."""

    id: int
    name: str
    host: str
    port: int
    password: str
    edition: str
    sm4_key: bytes | None
    mn_map: Mapping[str, str]

    def remote_mn(self, mn: str) -> str:
        return self.mn_map.get(mn, mn)


def parse_cns(text: str) -> tuple[int, ...]:
    """``"2011,2051"`` → ``(2011, 2051)`` (order kept, repeats dropped)."""
    out: list[int] = []
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            continue
        if not part.isdigit() or len(part) != 4:
            raise ForwardError(f"CN {part!r} is not a 4-digit command number (CN 须为 4 位数字)")
        if int(part) not in out:
            out.append(int(part))
    return tuple(out)


def parse_mns(text: str) -> tuple[str, ...]:
    """``"MN1, MN2"`` → ``("MN1", "MN2")``."""
    out = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    for mn in out:
        if not _MN.fullmatch(mn):
            raise ForwardError(f"MN {mn!r} is not a valid MN (MN 无效)")
    return out


def parse_mn_map(text: str) -> dict[str, str]:
    """The MN map CSV: a header line ``local,remote``, then one ``local,remote`` pair a line
    (blank lines ignored).  A local MN given twice, or a remote MN used for two local ones,
    is an error: the upstream would see two stations as one."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows or [c.strip().lower() for c in rows[0]] != ["local", "remote"]:
        raise ForwardError(
            "the MN map needs the header line 'local,remote' (MN 映射表首行须为 local,remote)"
        )
    if len(rows) - 1 > _MAX_MAP_ROWS:
        raise ForwardError(f"the MN map has more than {_MAX_MAP_ROWS} rows (映射行数过多)")
    out: dict[str, str] = {}
    used: dict[str, str] = {}
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != 2:
            raise ForwardError(
                f"MN map line {number}: two columns expected (第 {number} 行须为两列)"
            )
        local, remote = row[0].strip(), row[1].strip()
        for mn in (local, remote):
            if not _MN.fullmatch(mn):
                raise ForwardError(
                    f"MN map line {number}: {mn!r} is not a valid MN (第 {number} 行 MN 无效)"
                )
        if local in out:
            raise ForwardError(
                f"MN map line {number}: {local} is mapped twice (第 {number} 行本地 MN 重复)"
            )
        if remote in used:
            raise ForwardError(
                f"MN map line {number}: {remote} is already the remote MN of {used[remote]}"
                f" (第 {number} 行上级 MN 重复)"
            )
        out[local] = remote
        used[remote] = local
    return out


def format_mn_map(mn_map: Mapping[str, str]) -> str:
    """The CSV text of ``mn_map`` (``parse_mn_map`` reads it back)."""
    lines = ["local,remote", *(f"{k},{v}" for k, v in sorted(mn_map.items()))]
    return "\n".join(lines) + "\n"


def parse_since(text: str, timezone: str) -> datetime:
    """``--since``: an ISO date or time, in ``timezone`` when it names none."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ForwardError(
            f"--since {text!r} is not an ISO date or time, e.g. 2026-12-01T00:00"
            " (起始时间须为 ISO 格式，例如 2026-12-01T00:00)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(timezone))
