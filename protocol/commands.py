"""HJ 212 command codes (CN), reply codes (QnRtn / ExeRtn) and their flows.

Sources, all restated in ``/work/shared/hj212/PROTOCOL.md`` §4:

* HJ 212-2017 table 9 (§6.6.5) and the examples of App. C — the CP keys of each command
  are taken from the "使用字段" rows of App. C and from table 4;
* HJ/T 212-2005 §6.5 "命令列表" and its App. C (the alarm commands 1001, 1021/1022,
  1031/1032, 1041/1042, 2071, 2072 exist only there);
* codes outside both texts: the vendor frames of a 2016 field capture (8013 ``HeartbeatTime``,
  9015 ``CON-RT``, 2073 ``POW-RT``) and the HJ 212-2025 command list as published in
  ``caoyiliang/HJ212:HJ212/Enum.cs`` (not checked against the 2025 text itself).

Directions: "uplink" is field machine (现场机, data logger) → platform (上位机); "downlink" is
platform → field machine.

``CommandInfo.flow`` describes the message the *field* sends when the command can travel
uplink (this is what an ingestion server receives); for downlink-only commands it describes
the downlink message.  When ``direction`` is ``BOTH`` the platform→field use is the request of
table 9 ("请求命令"): the field answers 9011 ``QnRtn``, sends the data with the same CN and
closes with 9012 ``ExeRtn``.

The tables are data: ``commands.json`` beside this module, one object per CN with the
fields of :class:`CommandInfo` and the QnRtn / ExeRtn codes, read once at import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, IntEnum, unique
from types import MappingProxyType
from typing import Any, Final

from ._tables import load_table

__all__ = [
    "CN",
    "COMMANDS",
    "DATA_KIND",
    "DATA_UPLOAD_CODES",
    "EXE_RTN",
    "EXE_RTN_2005",
    "QN_RTN",
    "QN_RTN_2005",
    "RESERVED_RANGES_2005",
    "RESERVED_RANGES_2017",
    "UNNAMED_NONSTANDARD_CODES",
    "CommandInfo",
    "Direction",
    "Flow",
    "command_class",
    "command_info",
    "is_reserved",
]


@unique
class CN(IntEnum):
    """Every command code known to this package (standard and non-standard)."""

    # --- 1000-1999: initialisation and parameter commands -----------------------------------
    SET_TIMEOUT_RETRY = 1000
    SET_ALARM_TIME = 1001  # 2005 only; HJ 212-2025 reuses 1001 (hardware serial upload)
    SET_MN = 1002  # 2025
    FIELD_TIME = 1011
    SET_FIELD_TIME = 1012
    TIME_CALIBRATION_REQUEST = 1013
    KEY_EXCHANGE = 1014  # 2025
    ALARM_LIMITS = 1021  # 2005 only
    SET_ALARM_LIMITS = 1022  # 2005 only
    PLATFORM_ADDRESS = 1031  # 2005 only
    SET_PLATFORM_ADDRESS = 1032  # 2005 only
    REPORT_TIME = 1041  # 2005 only
    SET_REPORT_TIME = 1042  # 2005 only
    RTD_INTERVAL = 1061
    SET_RTD_INTERVAL = 1062
    MIN_INTERVAL = 1063  # 2017
    SET_MIN_INTERVAL = 1064  # 2017
    SET_PASSWORD = 1072
    # --- 2000-2999: data commands ------------------------------------------------------------
    REALTIME_DATA = 2011
    STOP_REALTIME_DATA = 2012
    RAW_DATA = 2013  # 2025
    EQUIPMENT_STATUS = 2021
    STOP_EQUIPMENT_STATUS = 2022
    DAY_DATA = 2031
    EQUIPMENT_RUNTIME_DAY = 2041
    MINUTE_DATA = 2051
    NOISE_SINGLE_MEASUREMENT = 2052  # 2025
    HOUR_DATA = 2061
    STANDARD_CHECK_DATA = 2062  # 2025
    ALARM_RECORDS = 2071  # 2005 only
    ALARM_EVENT = 2072  # 2005 only
    VENDOR_POW_RT = 2073  # vendor (field capture), CP ``POW-RT``
    POWER_ON_TIME = 2081
    FURNACE_TEMPERATURE_5MIN = 2111  # 2025
    # --- 3000-3999: control commands ---------------------------------------------------------
    ZERO_SPAN_CALIBRATION = 3011
    IMMEDIATE_SAMPLING = 3012
    CLEANING_BACKFLUSH = 3013  # 2005: "设备操作命令" (equipment operation)
    COMPARISON_SAMPLING = 3014  # 2005: "设置设备采样时间周期" (set sampling times)
    OVERLIMIT_SAMPLE_RETENTION = 3015
    SET_SAMPLING_PERIOD = 3016
    SAMPLING_PERIOD = 3017
    SAMPLE_OUTPUT_TIME = 3018
    INSTRUMENT_SN = 3019
    FIELD_INFO = 3020
    SET_FIELD_PARAMETER = 3021
    IMMEDIATE_RETENTION_TASK = 3022  # 2025
    START_STANDARD_CHECK = 3024  # 2025
    # --- vendor ------------------------------------------------------------------------------
    VENDOR_HEARTBEAT = 8013  # vendor (field capture), CP ``HeartbeatTime``
    # --- 9000-9999: interaction (reply) commands ---------------------------------------------
    REQUEST_ANSWER = 9011
    EXECUTION_RESULT = 9012
    NOTIFY_ANSWER = 9013
    DATA_ACK = 9014
    HEARTBEAT = 9015  # 2025 and a surface-water profile; CP ``CON-RT`` in the field capture


class Direction(Enum):
    """Which way a command travels."""

    UPLINK = "uplink"  # field machine → platform
    DOWNLINK = "downlink"  # platform → field machine
    BOTH = "both"


class Flow(Enum):
    """Interaction pattern of a command (HJ 212-2017 §6.5)."""

    REQUEST = "request"  # answered 9011 QnRtn, then data with the same CN, then 9012 ExeRtn
    UPLOAD = "upload"  # the platform acks with 9014 only if the Flag A bit is set
    NOTIFY = "notify"  # the receiver answers 9013
    REPLY = "reply"  # 9011-9014 themselves
    OTHER = "other"  # non-standard; no reply rule is defined


@dataclass(frozen=True, slots=True)
class CommandInfo:
    """Static description of one command code.

    ``cp_keys`` lists the CP keys the command carries in either direction, as the standard
    texts show them.  ``xxxxxx`` stands for any factor code (the 2005 text writes ``xxx``),
    ``SBxxx`` for a treatment-facility number.  ``other_names`` holds ``(edition, zh, en)``
    for editions in which the same code has a *different* meaning.

    ``editions`` holds "2005" and/or "2017" for codes of the standard texts; "2025" marks codes
    that only the (unverified) HJ 212-2025 list adds, "vendor" codes seen in the field.  The
    2025 list repeats every 2017 code; those are not tagged "2025".
    """

    code: int
    name_zh: str
    name_en: str
    direction: Direction
    flow: Flow
    editions: frozenset[str]
    cp_keys: tuple[str, ...]
    is_data_upload: bool = False
    other_names: tuple[tuple[str, str, str], ...] = ()

    def name_for(self, edition: str) -> tuple[str, str]:
        """(zh, en) name of the command in ``edition`` ("2005", "2017", "2025", ...)."""
        for ed, zh, en in self.other_names:
            if ed == edition:
                return zh, en
        return self.name_zh, self.name_en


def _command(row: Mapping[str, Any]) -> CommandInfo:
    """One object of ``commands.json`` (its ``note`` is documentation only)."""
    return CommandInfo(
        code=int(CN(row["cn"])),
        name_zh=str(row["name_zh"]),
        name_en=str(row["name_en"]),
        direction=Direction(row["direction"]),
        flow=Flow(row["flow"]),
        editions=frozenset(str(ed) for ed in row["editions"]),
        cp_keys=tuple(str(key) for key in row.get("cp_keys", ())),
        is_data_upload=bool(row.get("is_data_upload", False)),
        other_names=tuple((str(ed), str(zh), str(en)) for ed, zh, en in row.get("other_names", ())),
    )


_TABLE: Final[dict[str, Any]] = load_table("commands.json")
_COMMAND_LIST: Final[tuple[CommandInfo, ...]] = tuple(_command(row) for row in _TABLE["commands"])

COMMANDS: Final[Mapping[int, CommandInfo]] = MappingProxyType(
    {info.code: info for info in _COMMAND_LIST}
)
"""code → CommandInfo for every member of :class:`CN`."""


def command_info(code: int) -> CommandInfo | None:
    """Description of ``code``, or None when the code is unknown."""
    return COMMANDS.get(code)


DATA_KIND: Final[Mapping[int, str]] = MappingProxyType(
    {2011: "rtd", 2051: "minute", 2061: "hour", 2031: "day"}
)
"""Data-upload CN → label of the stored measurement series."""

DATA_UPLOAD_CODES: Final[frozenset[int]] = frozenset(DATA_KIND)
"""CNs whose CP holds factor values (``-Rtd``/``-Avg``/...): 2011, 2051, 2061, 2031."""


def _reply_codes(key: str) -> Mapping[int, tuple[str, str]]:
    return MappingProxyType({int(k): (zh, en) for k, (zh, en) in _TABLE[key].items()})


# HJ 212-2017 table 7 (请求命令返回表).  HJ/T 212-2005 defines only 1, 2, 3 ("密码错误").
QN_RTN: Final[Mapping[int, tuple[str, str]]] = _reply_codes("qn_rtn")
QN_RTN_2005: Final[frozenset[int]] = frozenset({1, 2, 3})

# HJ 212-2017 table 6 (执行结果定义表).  HJ/T 212-2005 defines only 1, 2 and 100.
EXE_RTN: Final[Mapping[int, tuple[str, str]]] = _reply_codes("exe_rtn")
EXE_RTN_2005: Final[frozenset[int]] = frozenset({1, 2, 100})

# Reserved ranges, inclusive ("预留命令范围").
RESERVED_RANGES_2017: Final[tuple[tuple[int, int], ...]] = (
    (1001, 1010),
    (1073, 1999),
    (2082, 2999),
    (3022, 3999),
    (9015, 9999),
)
RESERVED_RANGES_2005: Final[tuple[tuple[int, int], ...]] = ((1002, 1010), (3015, 3099))

# Codes seen in a surface-water monitoring profile (PROTOCOL.md §4, "Outside both texts") for
# which no meaning is documented; 1014, 2062 and 9015 of that profile are listed in CN.
UNNAMED_NONSTANDARD_CODES: Final[frozenset[int]] = frozenset(
    {1015, 2063, 2064, 2065, 2066, 3042, 3043, 3044, 3045, 3046, 3056}
    | set(range(3080, 3087))
    | {3100}
)


def is_reserved(code: int, edition: str = "2017") -> bool:
    """True if ``code`` lies in a range the standard reserves (2017 table 9 by default)."""
    ranges = RESERVED_RANGES_2005 if edition == "2005" else RESERVED_RANGES_2017
    return any(lo <= code <= hi for lo, hi in ranges)


# Command group by the thousands digit of the code (§6.6.5.1).
_COMMAND_CLASSES: Final[Mapping[int, str]] = MappingProxyType(
    {1: "parameter", 2: "data", 3: "control", 9: "interaction"}
)


def command_class(code: int) -> str | None:
    """Command group of HJ 212-2017 §6.6.5.1 by code range.

    Returns "parameter" (1000-1999, initialisation and parameter commands), "data"
    (2000-2999), "control" (3000-3999), "interaction" (9000-9999) or None.
    """
    return _COMMAND_CLASSES.get(code // 1000)
