"""Upload frames as a data logger builds them: split packets and broken copies.

* :func:`build_upload` encodes one upload with :func:`protocol.encode_upload`.
  When the data segment would exceed 1024 bytes ([S17] table 2) — or when the
  ``split`` fault asks for it — the factors are spread over ``PNUM`` packets
  numbered ``PNO`` 1…PNUM, each repeating ``DataTime`` and carrying its own QN
  and the D bit ([S17] C.49/C.50; each part is acked on its own).
* HJ 212-2025: :func:`build_upload` writes ``RF=1`` for re-sent past data
  (``backfill``) and leaves room for it (5 bytes) when it splits a 2025 upload, so
  :func:`with_backfill` — the same frame marked ``RF=1`` when a frame queued during an
  outage goes out after the reconnect — never pushes a part over 1024 bytes; both keep
  the CRC and ``LLLL`` of the plaintext and encrypt afterwards when given a key.
* :func:`corrupt_crc`, :func:`truncate` and :func:`oversize` make the broken
  copies of the fault injector; a decoder rejects the first two
  (``crc_mismatch``, ``truncated``) and, with the standard 1024 cap, the third
  (``oversize``).  The oversize copy asks for no ack, so a server configured to
  accept long frames stores a duplicate (same MN, CN, DataTime) and sends
  nothing back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from protocol import encode_frame, encode_upload
from protocol.crc import crc16
from protocol.sm4 import encrypt_frame

__all__ = [
    "MAX_SEGMENT",
    "Part",
    "build_upload",
    "corrupt_crc",
    "oversize",
    "segment_length",
    "truncate",
    "with_backfill",
]

#: [S17] table 2: a data segment holds at most 1024 characters.
MAX_SEGMENT = 1024
_RF = ";RF=1"

Values = Mapping[str, Mapping[str, str]]
FieldItems = Sequence[tuple[str, str | int | float]]


@dataclass(frozen=True, slots=True)
class Part:
    """One wire frame of an upload."""

    qn: str | None
    data: bytes
    #: the factor (wire) codes this part carries
    codes: tuple[str, ...]


def segment_length(frame: bytes) -> int:
    """``LLLL`` of a frame."""
    return int(frame[2:6])


def build_upload(
    cn: int,
    *,
    st: str,
    mn: str,
    pw: str,
    edition: str,
    qn: Callable[[], str | None],
    data_time: str | None,
    values: Values,
    fields: FieldItems = (),
    ack: bool = True,
    split: int | None = None,
    max_segment: int = MAX_SEGMENT,
    backfill: bool = False,
) -> list[Part]:
    """One upload as one frame, or as PNUM/PNO parts (``split`` forces that many
    parts; otherwise parts are made only when the frame would exceed ``max_segment``).
    ``qn()`` is called once per frame built.  ``backfill``: ``RF=1`` (HJ 212-2025)."""

    upload = partial(
        encode_upload, cn, st=st, mn=mn, pw=pw, edition=edition, ack=ack, backfill=backfill
    )
    if edition == "2025" and not backfill:
        max_segment -= len(_RF)  # room for RF=1 should the frame be re-sent after an outage

    def encode(
        items: Sequence[tuple[str, Mapping[str, str]]],
        q: str | None,
        pnum: int | None,
        pno: int | None,
    ) -> bytes:
        return upload(
            qn=q, data_time=data_time, values=dict(items), fields=fields, pnum=pnum, pno=pno
        )

    items = list(values.items())
    forced = split is not None and split >= 2 and len(items) >= 2
    if not forced:
        q = qn()
        frame = encode(items, q, None, None)
        if segment_length(frame) <= max_segment or len(items) < 2:
            return [Part(q, frame, tuple(values))]
    if forced:
        assert split is not None
        n = min(split, len(items))
        groups = [items[i * len(items) // n : (i + 1) * len(items) // n] for i in range(n)]
    else:
        groups = _greedy_groups(
            items, lambda g: segment_length(encode(g, "0" * 17, 9999, 9999)), max_segment
        )
    total = len(groups)
    parts = []
    for number, group in enumerate(groups, start=1):
        q = qn()
        parts.append(Part(q, encode(group, q, total, number), tuple(code for code, _ in group)))
    return parts


def _greedy_groups(
    items: list[tuple[str, Mapping[str, str]]],
    size_of: Callable[[list[tuple[str, Mapping[str, str]]]], int],
    limit: int,
) -> list[list[tuple[str, Mapping[str, str]]]]:
    groups: list[list[tuple[str, Mapping[str, str]]]] = []
    current: list[tuple[str, Mapping[str, str]]] = []
    for item in items:
        candidate = [*current, item]
        if current and size_of(candidate) > limit:
            groups.append(current)
            current = [item]
        else:
            current = candidate
    if current:
        groups.append(current)
    return groups


def with_backfill(plain: bytes, sm4_key: bytes | None = None) -> bytes:
    """A plaintext 2025 frame marked ``RF=1`` (before ``CP=&&``, HJ 212-2025 table 3),
    new CRC and ``LLLL``; encrypted with ``sm4_key`` when given."""
    segment = plain[6:-6]
    if b";RF=1;" not in segment:
        at = segment.index(b";CP=&&")
        segment = segment[:at] + _RF.encode() + segment[at:]
    frame = b"##%04d%b%04X\r\n" % (len(segment), segment, crc16(segment))
    return frame if sm4_key is None else encrypt_frame(frame, sm4_key)


def corrupt_crc(frame: bytes) -> bytes:
    """The same frame with a CRC that matches neither HJ 212 nor CRC-16/MODBUS."""
    segment = frame[6:-6]
    good = crc16(segment)
    bad = good ^ 0x5A3C
    return frame[:-6] + b"%04X" % bad + b"\r\n"


def truncate(frame: bytes, fraction: float) -> bytes:
    """The first part of a frame (at least the header, never its CRC or CRLF);
    ``fraction`` in [0, 1) chooses where to cut."""
    low, high = 12, len(frame) - 7
    if high <= low:
        return frame[: max(7, len(frame) - 7)]
    return frame[: low + int((high - low) * min(max(fraction, 0.0), 0.999))]


_FLAG = re.compile(r"(^|;)Flag=(\d+)")


def oversize(frame: bytes, length: int = MAX_SEGMENT + 1) -> bytes:
    """A copy of ``frame`` padded (``Padding=000…`` as the first CP item) to a data
    segment of at least ``length`` bytes, with a valid CRC and the A bit cleared."""
    segment = frame[6:-6].decode("utf-8")
    segment = _FLAG.sub(lambda m: f"{m.group(1)}Flag={int(m.group(2)) & ~1}", segment, count=1)
    cut = segment.index("CP=&&") + 5
    pad = max(1, length - len(segment.encode("utf-8")) - len("Padding=;"))
    return encode_frame(f"{segment[:cut]}Padding={'0' * pad};{segment[cut:]}")
