"""Downlink commands: queue one for a station, follow it to its end.

Anyone (the CLI, the web API) queues a command here; the ingest worker that
holds the station's socket is woken by ``NOTIFY envgrid_commands`` (payload
``"<id>:<mn>"``), claims the row and sends the frame; a station that is not
connected gets its queued commands when it next connects, until
``expires_at``.  Replies (9011 QnRtn, the data, 9012 ExeRtn or 9013) are
recorded against the command by that worker.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import asyncpg

from protocol import format_qn, format_time
from protocol.redact import mask_fields, mask_frame_text
from store.logcontext import current_log_fields
from store.secretbox import SM4_KEY, STATION_PASSWORD, SecretBox

__all__ = [
    "CHANNEL",
    "COMMAND_VERBS",
    "CommandError",
    "CommandRecord",
    "get_command",
    "masked_reply",
    "new_sm4_key",
    "queue_command",
    "queue_key_exchange",
    "wait_command",
]

CHANNEL: Final = "envgrid_commands"
FINAL_STATES: Final = frozenset({"rejected", "succeeded", "failed", "expired", "cancelled"})

#: Friendly names → (CN, CP keys the verb takes, description).
COMMAND_VERBS: Final[Mapping[str, tuple[int, tuple[str, ...], str]]] = {
    "set-timeout": (1000, ("OverTime", "ReCount"), "set the answer timeout (s) and retries"),
    "get-time": (1011, ("PolId",), "read the data logger's (or an instrument's) clock"),
    "set-time": (1012, ("PolId", "SystemTime"), "set the clock (default: now)"),
    "get-rtd-interval": (1061, (), "read the real-time upload interval"),
    "set-rtd-interval": (1062, ("RtdInterval",), "set the real-time upload interval (s, 30-3600)"),
    "get-min-interval": (1063, (), "read the minute-data interval"),
    "set-min-interval": (1064, ("MinInterval",), "set the minute-data interval (min)"),
    "set-password": (1072, ("NewPW",), "change the station's access password"),
    "start-rtd": (2011, (), "start real-time data uploads"),
    "stop-rtd": (2012, (), "stop real-time data uploads"),
    "start-status": (2021, (), "start equipment status uploads"),
    "stop-status": (2022, (), "stop equipment status uploads"),
    "history-day": (2031, ("BeginTime", "EndTime"), "request daily data for a period"),
    "history-runtime": (2041, ("BeginTime", "EndTime"), "request equipment run time"),
    "history-minute": (2051, ("BeginTime", "EndTime"), "request minute data for a period"),
    "history-hour": (2061, ("BeginTime", "EndTime"), "request hourly data for a period"),
    "calibrate": (
        3011,
        ("PolId", "CalibrationType"),
        "zero/span calibration of an instrument (HJ 212-2025 CalibrationType: 0 zero, 1 span)",
    ),
    "sample-now": (3012, ("PolId",), "take a sample now"),
    "clean": (3013, ("PolId",), "start cleaning / back-flush"),
    "get-info": (3020, ("PolId", "InfoId"), "read field information (logs, status, parameters)"),
    "retain-sample": (3022, ("PolId",), "HJ 212-2025: send an immediate sample-retention task"),
    "check-standard": (3024, ("PolId",), "HJ 212-2025: start a standard-sample check"),
}

#: Instrument commands: their ``PolId`` must be a factor code; calibration, sample
#: retention and the standard-sample check name their instrument (HJ 212-2025 App. C).
_POLID_CHECKED: Final = frozenset({3011, 3012, 3013, 3022, 3024})
_POLID_REQUIRED: Final = frozenset({3011, 3022, 3024})
#: A factor code as HJ 212 writes it (``w01018``, ``a21026``, ``LA``, ``e10101``).
_POLID: Final = re.compile(r"[A-Za-z][A-Za-z0-9]{1,9}")

INSERT_COMMAND_SQL: Final = """
INSERT INTO station_commands (station_id, cn, params, qn, created_by, expires_at, request_id)
SELECT id, $2, $3, $4, $5, now() + $6::interval, $7 FROM stations WHERE mn = $1
RETURNING id, station_id
"""
NOTIFY_SQL: Final = "SELECT pg_notify($1, $2)"
GET_COMMAND_SQL: Final = """
SELECT c.id, s.mn, c.cn, c.params, c.qn, c.status, c.qn_rtn, c.exe_rtn, c.worker,
       c.created_by, c.created_at, c.sent_at, c.answered_at, c.finished_at, c.expires_at,
       c.error
FROM station_commands c JOIN stations s ON s.id = c.station_id
WHERE c.id = $1
"""
GET_REPLIES_SQL: Final = """
SELECT received_at, cn, fields, raw FROM command_replies WHERE command_id = $1 ORDER BY id
"""


class CommandError(ValueError):
    """The command cannot be queued (unknown station, bad parameters)."""


@dataclass(frozen=True, slots=True)
class CommandRecord:
    id: int
    mn: str
    cn: int
    params: Mapping[str, Any]
    qn: str
    status: str
    qn_rtn: int | None
    exe_rtn: int | None
    worker: int | None
    created_by: str
    created_at: datetime
    sent_at: datetime | None
    answered_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime
    error: str | None
    replies: tuple[Mapping[str, Any], ...] = ()

    @property
    def done(self) -> bool:
        return self.status in FINAL_STATES

    def to_json(self) -> dict[str, Any]:
        """The record as shown (API, CLI): passwords masked in parameters and replies."""
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        out["params"] = mask_fields(self.params)
        out["replies"] = [masked_reply(r) for r in self.replies]
        return out


def masked_reply(reply: Mapping[str, Any]) -> dict[str, Any]:
    """A stored reply as shown: times in ISO form, passwords masked in fields and frame
    (rows stored before masking existed hold them)."""
    out = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in reply.items()}
    fields, raw = out.get("fields"), out.get("raw")
    if isinstance(fields, Mapping):
        out["fields"] = mask_fields(fields)
    if isinstance(raw, str):
        out["raw"] = mask_frame_text(raw)
    return out


def command_params(cn: int, params: Mapping[str, Any], tz: ZoneInfo) -> dict[str, str]:
    """Validate and complete CP parameters (``set-time`` without a time means now)."""
    out = {str(k): str(v) for k, v in params.items()}
    for key, value in out.items():
        if any(ch in value for ch in ";,=&\r\n") or any(ch in key for ch in ";,=&\r\n"):
            raise CommandError(f"parameter {key}={value!r} holds a character HJ 212 cannot carry")
    if cn == 1012 and "SystemTime" not in out:
        out["SystemTime"] = format_time(datetime.now(tz))
    if cn == 1062 and "RtdInterval" in out:
        interval = int(out["RtdInterval"])
        if not 30 <= interval <= 3600:
            raise CommandError(f"RtdInterval must be 30..3600 s ([S17] table 4), got {interval}")
    if (
        cn == 1064
        and "MinInterval" in out
        and int(out["MinInterval"])
        not in (
            1,
            2,
            3,
            4,
            5,
            6,
            10,
            12,
            15,
            20,
            30,
        )
    ):
        raise CommandError("MinInterval must be one of 1,2,3,4,5,6,10,12,15,20,30 minutes")
    pol = out.get("PolId")
    if cn in _POLID_REQUIRED and not pol:
        raise CommandError(f"CN {cn} acts on one instrument: give its factor code (PolId)")
    if pol is not None and cn in _POLID_CHECKED and _POLID.fullmatch(pol) is None:
        raise CommandError(f"PolId {pol!r} is not a factor code (e.g. w01018, a21026)")
    if cn == 3011 and out.get("CalibrationType", "0") not in ("0", "1"):
        raise CommandError("CalibrationType must be 0 (zero) or 1 (span) (HJ 212-2025)")
    if cn in (2031, 2041, 2051, 2061) and not {"BeginTime", "EndTime"} <= out.keys():
        raise CommandError("a history request needs BeginTime and EndTime (YYYYMMDDhhmmss)")
    return out


async def queue_command(
    conn: asyncpg.Connection,
    *,
    mn: str,
    cn: int,
    params: Mapping[str, Any] | None = None,
    created_by: str = "",
    timeout_s: float = 120.0,
    tz: str = "Asia/Shanghai",
    box: SecretBox | None = None,
) -> int:
    """Queue a command for station ``mn`` and wake the workers; returns its id.  A new
    password (``NewPW``) is kept sealed with ``box`` until the worker sends it.  The
    request id bound to the log context (a dashboard request's) goes with the command, so
    the worker that sends it logs it too."""
    zone = ZoneInfo(tz)
    cp = command_params(cn, params or {}, zone)
    if box is not None and cp.get("NewPW"):
        cp["NewPW"] = box.seal(cp["NewPW"], STATION_PASSWORD)
    if box is not None and cp.get("NewSK"):
        cp["NewSK"] = box.seal(cp["NewSK"], SM4_KEY)
    qn = format_qn(datetime.now(zone))
    row = await conn.fetchrow(
        INSERT_COMMAND_SQL,
        mn,
        cn,
        cp,
        qn,
        created_by,
        timedelta(seconds=timeout_s),
        current_log_fields().get("request_id"),
    )
    if row is None:
        raise CommandError(f"no station with MN {mn!r} in the registry")
    await conn.execute(NOTIFY_SQL, CHANNEL, f"{row['id']}:{mn}")
    return int(row["id"])


#: HJ 212-2025 §6.4.3: keys must not be fixed or patterned; 16 characters drawn from 62
#: (about 95 bits), sent as text in ``NewSK``.
_KEY_ALPHABET: Final = string.ascii_letters + string.digits


def new_sm4_key() -> str:
    """A fresh SM4 key as the standard writes it: 16 random letters and digits."""
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))


async def queue_key_exchange(
    conn: asyncpg.Connection,
    *,
    mn: str,
    box: SecretBox,
    created_by: str,
    tz: str = "Asia/Shanghai",
    timeout_s: float = 3600.0,
) -> int:
    """Queue CN 1014 (HJ 212-2025: ``SKCreateTime=…,NewSK=…``) giving station ``mn`` a new
    SM4 key; the registry takes the key when the station confirms (9012 ExeRtn=1), and the
    old one stays valid for ``store.stations.SM4_KEY_GRACE``."""
    zone = ZoneInfo(tz)
    params = {"SKCreateTime": format_qn(datetime.now(zone)), "NewSK": new_sm4_key()}
    return await queue_command(
        conn,
        mn=mn,
        cn=1014,
        params=params,
        created_by=created_by,
        timeout_s=timeout_s,
        tz=tz,
        box=box,
    )


async def get_command(conn: asyncpg.Connection, command_id: int) -> CommandRecord | None:
    row = await conn.fetchrow(GET_COMMAND_SQL, command_id)
    if row is None:
        return None
    replies = tuple(dict(r) for r in await conn.fetch(GET_REPLIES_SQL, command_id))
    return CommandRecord(**dict(row), replies=replies)


async def wait_command(
    conn: asyncpg.Connection, command_id: int, timeout_s: float, poll_s: float = 0.2
) -> CommandRecord:
    """Poll until the command reaches a final state or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        record = await get_command(conn, command_id)
        if record is None:
            raise CommandError(f"command {command_id} does not exist")
        if record.done or time.monotonic() >= deadline:
            return record
        await asyncio.sleep(poll_s)
