"""Codec benchmark: decode + CRC of a 6-factor HJ 212-2017 real-time frame, no I/O.

``python -m bench.codec`` or ``envgrid bench codec``.  Measures, on one core:

* ``decode``   — framing, CRC check and head parse, one frame per ``feed()`` call
  (the server's case: one frame per TCP read);
* ``decode+values`` — the same plus parsing every factor's fields (what the
  ingest path needs to build rows);
* ``stream`` — 1,000 frames per ``feed()`` (a busy socket or a replay);
* ``crc`` — the CRC alone, and the pure-Python table loop for comparison;
* HJ 212-2025 (``… sm4``): the same frame as a 2025 upload with its CP SM4-encrypted
  (one key per MN, 1,000 stations): ``decode sm4``, ``decode+values sm4`` and
  ``stream sm4`` decrypt before parsing (the server's extra cost per frame); ``encode``
  and ``encode+encrypt sm4`` build the upload as a simulated station does, and
  ``encrypt sm4`` is :func:`protocol.sm4.encrypt_frame` alone (the simulator's extra cost).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

from protocol import Decoder, Frame, crc16, encode_upload
from protocol.crc import crc16_table_loop
from protocol.sm4 import encrypt_frame

FACTORS = {
    "a21026": "8.0",
    "a21004": "35.2",
    "a21005": "0.62",
    "a05024": "88.0",
    "a34002": "61.0",
    "a34004": "35.0",
}


def sample_frame(i: int = 0, edition: str = "2017", sm4_key: bytes | None = None) -> bytes:
    values = {code: {"Rtd": value, "Flag": "N"} for code, value in FACTORS.items()}
    return encode_upload(
        2011,
        st="22",
        mn=f"AQ{i:022d}",
        pw="123456",
        qn=f"20240301120000{i % 1000:03d}",
        data_time="20240301120000",
        values=values,
        edition=edition,
        sm4_key=sm4_key,
    )


def station_key(i: int) -> bytes:
    """The SM4 key of benchmark station ``i`` (16 bytes, distinct per station)."""
    return (b"envgrid-key-%05d" % i)[:16]


def _rate(fn: Callable[[], int], seconds: float) -> float:
    """Calls ``fn`` (which processes k frames and returns k) for ~seconds; frames/s."""
    fn()  # warm-up
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        done += fn()
        now = time.perf_counter()
        if now >= deadline:
            return done / (now - start)


def _decoders(
    decoder: Decoder, frames: list[bytes]
) -> tuple[Callable[[], int], Callable[[], int], Callable[[], int]]:
    """Decoding the frames one by one, one by one with every value parsed, and as one
    stream with every value parsed; each returns how many frames it did."""

    def decode_only() -> int:
        feed = decoder.feed
        for f in frames:
            feed(f)
        return len(frames)

    def decode_values() -> int:
        feed = decoder.feed
        for f in frames:
            for event in feed(f):
                if isinstance(event, Frame):
                    event.values  # noqa: B018 - parse every factor
        return len(frames)

    stream = b"".join(frames)

    def decode_stream() -> int:
        events = decoder.feed(stream)
        for event in events:
            if isinstance(event, Frame):
                event.values  # noqa: B018
        return len(events)

    return decode_only, decode_values, decode_stream


def measure(seconds: float = 2.0) -> dict[str, Any]:
    frames = [sample_frame(i) for i in range(1000)]
    segments = [f[6:-6] for f in frames]
    decoder = Decoder()

    decode_only, decode_values, decode_stream = _decoders(decoder, frames)

    def crc_fast() -> int:
        for s in segments:
            crc16(s)
        return len(segments)

    def crc_loop() -> int:
        for s in segments[:100]:
            crc16_table_loop(s)
        return 100

    results = {
        "decode": _rate(decode_only, seconds),
        "decode+values": _rate(decode_values, seconds),
        "stream": _rate(decode_stream, seconds),
        "crc": _rate(crc_fast, seconds / 2),
        "crc_table_loop": _rate(crc_loop, seconds / 2),
    }
    assert decoder.stats.errors == {}, decoder.stats.errors
    sm4_rates, sm4_bytes = _measure_sm4(seconds)
    results.update(sm4_rates)
    return {
        "scenario": "codec",
        "frame_bytes": len(frames[0]),
        "sm4_frame_bytes": sm4_bytes,
        "factors": len(FACTORS),
        "frames_per_s": {k: round(v) for k, v in results.items()},
        "us_per_frame": {k: round(1e6 / v, 2) for k, v in results.items()},
        "floor_frames_per_s": 100_000,
        "goal_frames_per_s": 250_000,
        "machine": {
            "python": sys.version.split()[0],
            "implementation": platform.python_implementation(),
            "cpu": platform.processor() or platform.machine(),
        },
    }


def _measure_sm4(seconds: float) -> tuple[dict[str, float], int]:
    """HJ 212-2025 with SM4: decrypt + decode rates, and the station's encryption cost."""
    keys = {f"AQ{i:022d}": station_key(i) for i in range(1000)}
    plain = [sample_frame(i, "2025") for i in range(1000)]
    frames = [encrypt_frame(f, station_key(i)) for i, f in enumerate(plain)]
    decoder = Decoder(sm4_keys=lambda mn: (keys[mn],) if mn in keys else ())

    decode_only, decode_values, decode_stream = _decoders(decoder, frames)

    def encode_plain() -> int:
        for i in range(1000):
            sample_frame(i, "2025")
        return 1000

    def encode_encrypt() -> int:
        for i in range(1000):
            sample_frame(i, "2025", station_key(i))
        return 1000

    def encrypt_only() -> int:
        for i, f in enumerate(plain):
            encrypt_frame(f, station_key(i))
        return len(plain)

    rates = {
        "decode sm4": _rate(decode_only, seconds),
        "decode+values sm4": _rate(decode_values, seconds),
        "stream sm4": _rate(decode_stream, seconds),
        "encode": _rate(encode_plain, seconds / 2),
        "encode+encrypt sm4": _rate(encode_encrypt, seconds / 2),
        "encrypt sm4": _rate(encrypt_only, seconds / 2),
    }
    assert decoder.stats.errors == {}, decoder.stats.errors
    assert decoder.stats.frames > 0
    return rates, len(frames[0])


def report(result: dict[str, Any]) -> str:
    lines = [f"codec benchmark — {result['frame_bytes']}-byte frame, {result['factors']} factors"]
    if "sm4_frame_bytes" in result:
        lines[0] += f" ({result['sm4_frame_bytes']} bytes SM4-encrypted, HJ 212-2025)"
    for key, rate in result["frames_per_s"].items():
        lines.append(f"  {key:<19} {rate:>10,} frames/s  {result['us_per_frame'][key]:>6} µs/frame")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.codec", description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--json", metavar="OUT", help="also write the result as JSON")
    args = parser.parse_args(argv)
    result = measure(args.seconds)
    print(report(result))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
