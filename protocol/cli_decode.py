"""``envgrid decode [FILE]``: an HJ 212 byte stream → one JSON object per frame or error.

Input is raw frames back to back, or one frame per line with or without CRLF.
Output (JSON lines, input order): ``{"ok": true, "edition", "qn", "st", "cn", "pw",
"mn", "flag", "pnum", "pno", "data_time", "values", "fields", …}`` for a frame,
``{"ok": false, "error", "detail", "offset"}`` for rejected bytes.  Passwords (``PW``,
``NewPW``) are printed as ``******`` unless ``--show-secrets`` is given.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, BinaryIO

from .decoder import HARD_CAP, STANDARD_MAX_LENGTH, Decoder, Role
from .redact import MASK, mask_fields, mask_frame_text
from .sm4 import parse_key

_CHUNK = 1 << 16


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", help="input file (default: standard input)")
    parser.add_argument(
        "--max-length",
        type=int,
        default=STANDARD_MAX_LENGTH,
        help=f"largest accepted data segment (default {STANDARD_MAX_LENGTH}; up to {HARD_CAP})",
    )
    parser.add_argument(
        "--modbus",
        action="store_true",
        help="accept frames whose CRC is the byte-swapped CRC-16/MODBUS variant",
    )
    parser.add_argument(
        "--role",
        choices=[r.value for r in Role],
        default=Role.PLATFORM.value,
        help="read the stream as the platform (station uploads) or as a station (commands)",
    )
    parser.add_argument(
        "--summary", action="store_true", help="print frame/error counts to stderr at the end"
    )
    parser.add_argument(
        "--sm4-key",
        action="append",
        default=[],
        metavar="KEY",
        help="HJ 212-2025: decrypt encrypted CPs with this SM4 key (16 characters or 32 hex"
        " digits); repeat to try several",
    )
    parser.add_argument(
        "--show-secrets",
        action="store_true",
        help="print passwords (PW, NewPW) as sent instead of ******",
    )


def masked(obj: dict[str, Any]) -> dict[str, Any]:
    """A decoded object with its passwords masked (``pw``, secret fields, error details)."""
    out = mask_fields(obj)
    if obj.get("pw"):
        out["pw"] = MASK
    if isinstance(obj.get("detail"), str):
        out["detail"] = mask_frame_text(obj["detail"])
    return out


def decode_stream(
    stream: BinaryIO,
    decoder: Decoder,
    out: list[str] | None = None,
    *,
    show_secrets: bool = False,
) -> int:
    """Decode ``stream`` and write JSON lines to stdout; returns the number of errors."""
    errors = 0
    write = sys.stdout.write

    def emit(events: list) -> None:  # type: ignore[type-arg]
        nonlocal errors
        for event in events:
            obj = event.to_json()
            if not show_secrets:
                obj = masked(obj)
            if not obj["ok"]:
                errors += 1
            line = json.dumps(obj, ensure_ascii=False)
            if out is not None:
                out.append(line)
            else:
                write(line + "\n")

    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        emit(decoder.feed(chunk))
    emit(decoder.close())
    return errors


def run(args: argparse.Namespace) -> int:
    try:
        keys = [parse_key(k) for k in args.sm4_key]
    except ValueError as exc:
        print(f"envgrid decode: --sm4-key: {exc}", file=sys.stderr)
        return 2
    decoder = Decoder(
        role=Role(args.role),
        max_length=args.max_length,
        lenient_terminator=True,
        modbus_tolerant=args.modbus,
        sm4_keys=(lambda _mn: keys) if keys else None,
    )
    if args.file and args.file != "-":
        with open(args.file, "rb") as fh:
            decode_stream(fh, decoder, show_secrets=args.show_secrets)
    else:
        decode_stream(sys.stdin.buffer, decoder, show_secrets=args.show_secrets)
    sys.stdout.flush()
    if args.summary:
        s = decoder.stats
        print(
            f"frames={s.frames} errors={sum(s.errors.values())} {dict(s.errors)} "
            f"bytes={s.bytes} oversize_accepted={s.oversize_accepted} "
            f"modbus_accepted={s.modbus_accepted}",
            file=sys.stderr,
        )
    return 0
