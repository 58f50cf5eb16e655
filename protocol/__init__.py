"""HJ 212 codec (HJ 212-2017 and HJ/T 212-2005), sans-I/O.

Bytes in, events out: :class:`Decoder` turns a TCP byte stream into
:class:`Frame` events (:class:`DataUpload`, :class:`StatusUpload`,
:class:`Reply` …) and :class:`FrameError` events; the encoders build every
frame the platform (or a simulated data logger) sends.  No asyncio, sockets,
clock or database here.
"""

from . import _events, encoders
from ._events import *  # noqa: F403
from .commands import CN, COMMANDS, DATA_KIND, CommandInfo, Direction, Flow, command_info
from .crc import crc16, crc16_batch, crc16_modbus, crc16_reference, format_crc
from .decoder import HARD_CAP, STANDARD_MAX_LENGTH, Decoder, DecoderStats, Role
from .encoders import *  # noqa: F403
from .errors import EncodeError, ErrorCode, ProtocolError
from .factors import FACTORS, Factor, factor, legacy_to_2017
from .flags import is_maintenance, is_valid
from .reassembly import Reassembler, SplitGroup
from .timefmt import format_qn, format_time, parse_time

__all__ = [
    "CN",
    "COMMANDS",
    "DATA_KIND",
    "FACTORS",
    "HARD_CAP",
    "STANDARD_MAX_LENGTH",
    "CommandInfo",
    "Decoder",
    "DecoderStats",
    "Direction",
    "EncodeError",
    "ErrorCode",
    "Factor",
    "Flow",
    "ProtocolError",
    "Reassembler",
    "Role",
    "SplitGroup",
    "command_info",
    "crc16",
    "crc16_batch",
    "crc16_modbus",
    "crc16_reference",
    "factor",
    "format_crc",
    "format_qn",
    "format_time",
    "is_maintenance",
    "is_valid",
    "legacy_to_2017",
    "parse_time",
]
__all__ += _events.__all__
__all__ += encoders.__all__
