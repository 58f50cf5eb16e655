"""``envgrid encode``: build HJ 212 frames from JSON (stdin or ``--json TEXT``).

One JSON object per frame (a list, or JSON lines).  Forms:

* ``{"reply": "9014", "to": "##0289QN=…\\r\\n"}`` — the data answer (or ``"9013"``
  notification answer) for a received frame, in that frame's edition;
* ``{"cn": 1062, "st": "32", "mn": "…", "pw": "…", "qn": "…", "edition": "2017",
  "cp": {"RtdInterval": 30}}`` — a platform request (1000 … 3021);
* ``{"cn": 9011, "qn": "…", "mn": "…", "pw": "…", "edition": "2005", "cp": {"QnRtn": 1}}``
  — a data logger's answer (9011/9012/9013);
* ``{"cn": 2011, "st": "22", "mn": "…", "pw": "…", "qn": "…", "data_time": "…",
  "values": {"a21026": {"Rtd": "8.0", "Flag": "N"}}, "ack": true}`` — an upload.

``"edition": "2025"`` builds HJ 212-2025 frames (Flag 8 replies, 9 requests); with
``"sm4_key"`` (16 characters or 32 hex digits) their CP is SM4-encrypted, and
``"backfill": true`` marks an upload RF=1.  A reply to an encrypted frame needs the key
to read it: ``{"reply": "9014", "to": "…", "sm4_key": "…"}``.

Writes the frames (CRLF-terminated) to stdout, or JSON ``{"frame": …}`` lines
with ``--json-out``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

from ._events import Frame
from .commands import COMMANDS, Direction
from .decoder import Decoder, Role
from .encoders import (
    encode_data_ack,
    encode_notify_ack,
    encode_reply,
    encode_request,
    encode_upload,
)
from .errors import EncodeError
from .sm4 import parse_key


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", dest="text", help="the JSON (default: read standard input)")
    parser.add_argument(
        "--json-out", action="store_true", help='write {"frame": "..."} JSON lines instead'
    )


def _objects(text: str) -> list[Mapping[str, Any]]:
    text = text.strip()
    if not text:
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(data, Mapping):
        return [data]
    if isinstance(data, list) and all(isinstance(d, Mapping) for d in data):
        return data
    raise EncodeError("expected a JSON object, a list of objects or JSON lines")


def _frame_of(text: str, key: bytes | None = None) -> Frame:
    keys = [key] if key is not None else []
    decoder = Decoder(lenient_terminator=True, max_length=9999, sm4_keys=lambda _mn: keys)
    raw = text.encode("utf-8")
    events = decoder.feed(raw if raw.endswith(b"\n") else raw + b"\r\n") + decoder.close()
    for event in events:
        if isinstance(event, Frame):
            return event
        raise EncodeError(f"'to' is not a valid frame: {event.code.value}: {event.detail}")
    raise EncodeError("'to' holds no frame")


def build(obj: Mapping[str, Any]) -> bytes:
    """One JSON object → one frame."""
    edition = str(obj.get("edition", "2017"))
    key = None if obj.get("sm4_key") is None else parse_key(str(obj["sm4_key"]))
    if "reply" in obj:
        frame = _frame_of(str(obj.get("to", "")), key)
        kind = str(obj["reply"])
        if kind == "9014":
            return encode_data_ack(frame)
        if kind == "9013":
            return encode_notify_ack(frame)
        raise EncodeError(f"reply must be '9014' or '9013', got {kind!r}")
    if "cn" not in obj:
        raise EncodeError("missing 'cn' (or 'reply')")
    if key is not None and edition != "2025":
        raise EncodeError("'sm4_key' is for HJ 212-2025 frames ('edition': '2025')")
    cn = int(obj["cn"])
    cp = obj.get("cp") or {}
    if not isinstance(cp, Mapping):
        raise EncodeError("'cp' must be an object of CP keys")
    qn = obj.get("qn")
    mn = obj.get("mn")
    pw = obj.get("pw")
    if cn in (9011, 9012, 9013, 9014):
        return encode_reply(cn, qn=qn, mn=mn, pw=pw, edition=edition, cp=dict(cp))
    info = COMMANDS.get(cn)
    uplink = (
        "values" in obj
        or "data_time" in obj
        or (info is not None and info.direction is Direction.UPLINK)
    )
    for name in ("st", "mn", "pw"):
        if not obj.get(name):
            raise EncodeError(f"missing '{name}'")
    if uplink:
        return encode_upload(
            cn,
            st=str(obj["st"]),
            mn=str(mn),
            pw=str(pw),
            edition=edition,
            qn=qn,
            data_time=obj.get("data_time"),
            values=obj.get("values"),
            fields=dict(cp),
            ack=bool(obj.get("ack", True)),
            pnum=obj.get("pnum"),
            pno=obj.get("pno"),
            flag=obj.get("flag"),
            backfill=bool(obj.get("backfill", False)),
            sm4_key=key,
        )
    if not qn:
        raise EncodeError("a request needs 'qn' (YYYYMMDDhhmmsszzz)")
    return encode_request(
        cn,
        qn=str(qn),
        st=str(obj["st"]),
        mn=str(mn),
        pw=str(pw),
        edition=edition,
        cp=dict(cp),
        flag=obj.get("flag"),
        sm4_key=key,
    )


def run(args: argparse.Namespace) -> int:
    text = args.text if args.text is not None else sys.stdin.read()
    try:
        frames = [build(obj) for obj in _objects(text)]
    except (EncodeError, ValueError, TypeError) as exc:
        print(f"envgrid encode: {exc}", file=sys.stderr)
        return 2
    for frame in frames:
        if args.json_out:
            sys.stdout.write(
                json.dumps({"frame": frame.decode("utf-8")}, ensure_ascii=False) + "\n"
            )
        else:
            sys.stdout.buffer.write(frame)
    sys.stdout.flush()
    return 0


__all__ = ["Role", "build", "configure", "run"]
