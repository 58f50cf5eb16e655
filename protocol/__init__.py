"""HJ 212 codec (HJ 212-2017 and HJ/T 212-2005), sans-I/O.

Bytes in, events out: :class:`Decoder` turns a TCP byte stream into
:class:`Frame` events (:class:`DataUpload`, :class:`StatusUpload`,
:class:`Reply` …) and :class:`FrameError` events; the encoders build every
frame the platform (or a simulated data logger) sends.  No asyncio, sockets,
clock or database here.
"""

from ._events import (
    NEED_DATA,
    Command,
    DataUpload,
    Event,
    Frame,
    FrameError,
    Heartbeat,
    InfoUpload,
    NeedData,
    Notification,
    Reply,
    StatusUpload,
    UnknownFrame,
)
from .commands import CN, COMMANDS, DATA_KIND, CommandInfo, Direction, Flow, command_info
from .crc import crc16, crc16_batch, crc16_modbus, crc16_reference, format_crc
from .decoder import HARD_CAP, STANDARD_MAX_LENGTH, Decoder, DecoderStats, Role
from .encoders import (
    encode_data_ack,
    encode_execution_result,
    encode_frame,
    encode_notify_ack,
    encode_reply,
    encode_request,
    encode_request_answer,
    encode_upload,
    format_cp,
    format_values,
    segment,
)
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
    "NEED_DATA",
    "STANDARD_MAX_LENGTH",
    "Command",
    "CommandInfo",
    "DataUpload",
    "Decoder",
    "DecoderStats",
    "Direction",
    "EncodeError",
    "ErrorCode",
    "Event",
    "Factor",
    "Flow",
    "Frame",
    "FrameError",
    "Heartbeat",
    "InfoUpload",
    "NeedData",
    "Notification",
    "ProtocolError",
    "Reassembler",
    "Reply",
    "Role",
    "SplitGroup",
    "StatusUpload",
    "UnknownFrame",
    "command_info",
    "crc16",
    "crc16_batch",
    "crc16_modbus",
    "crc16_reference",
    "encode_data_ack",
    "encode_execution_result",
    "encode_frame",
    "encode_notify_ack",
    "encode_reply",
    "encode_request",
    "encode_request_answer",
    "encode_upload",
    "factor",
    "format_cp",
    "format_crc",
    "format_qn",
    "format_time",
    "format_values",
    "is_maintenance",
    "is_valid",
    "legacy_to_2017",
    "parse_time",
    "segment",
]
