"""Coverage-guided fuzzing of the HJ 212 codec (framer + parser + encoders' round trip).

``python -m bench.fuzz [--inputs N] [--json OUT]`` (default 1,000,000 inputs) — the opt-in
bench scenario behind the issue's "hostile input held"; ``tests/security/test_fuzz.py``
runs a short, deterministic slice of the same target in ``make test``.

Theory of operation
-------------------
*Engines.*  ``atheris`` (default when installed): libFuzzer drives the target in a child
process (``python -m bench.fuzz --worker CONFIG``) with the ``protocol`` package
instrumented (``atheris.instrument_imports``), so inputs that reach new edges of the codec
are kept and mutated further; a libFuzzer dictionary of HJ 212 tokens helps it past the
``##LLLL``/``CP=&&`` grammar.  ``random``: a deterministic, uninstrumented mutation engine
over the same seeds and dictionary (no extra package; what the fast test uses).

*One input* is ``opts`` (1 byte) + ``plan`` (1 byte) + the stream:

* ``opts`` bits: role STATION (else PLATFORM), lenient terminator, MODBUS-tolerant,
  ``max_length`` = ``HARD_CAP`` (else 1024), *repair* (every ``##dddd…CRLF`` region gets
  its LLLL and CRC recomputed, so mutations reach the parser instead of dying at the
  CRC check), h11-style API (``receive_data``/``next_event``) for the chunked pass,
  SM4 (HJ 212-2025: the decoder gets ``bench.fuzz_target.FUZZ_KEYS`` for every MN — the
  standard's test key, then a "previous" key; with *repair* a region's LLLL and CRC are
  those of its plaintext, a plain CP is encrypted and a mutated ciphertext decrypted, so
  garbage plaintext with a right CRC reaches the parser);
* ``plan`` chooses how the stream is cut into ``feed()`` calls: a few cut points from a
  PRNG seeded by ``plan``, plus a cut after every LF when bit 7 is set (line-wise TCP
  reads); 255 feeds byte by byte (short streams only).

*Invariants* (h11's ``fuzz/afl-server.py``, plus the codec's contracts):

1. fatal — an exception escaping ``feed``/``close``/``receive_data``/``next_event``, any
   lazily parsed property (``values``, ``fields``, ``legacy_codes``, ``data_time``,
   ``effective_qn``, ``pnum`` …, Reply's ``request_qn``/``qn_rtn``/``exe_rtn``/``acked_cn``),
   ``to_json()`` (and ``json.dumps`` of it, as ``envgrid decode`` does), or an encoder
   raising anything but ``EncodeError``; ``Decoder.buffered`` above ``HARD_CAP + 12 + 1``
   after any feed; the process RSS above the cap (checked every ``rss_every`` inputs); an
   input running past libFuzzer's ``-timeout`` (a hang).  Exceptions are recorded with a
   signature (type + innermost project frame) and the input, and fuzzing goes on
   (``--stop-on-crash`` hands them to libFuzzer instead, which stops and writes
   ``crash-*``); the other fatal ones stop it.
2. findings (counted, three samples kept, the run goes on) — the same stream fed whole
   and in chunks yields different accepted frames; a clean frame re-framed by
   ``encode_frame`` differs from what was received, or does not decode to the same frame;
   the 9014/9013/9011 answer built for a frame does not decode to exactly one Reply echoing
   a well-formed QN/MN; a data upload rebuilt by ``encode_upload`` loses values;
   ``data_time`` disagrees with ``fields['DataTime']``; a head number beyond what the fast
   path reads (Flag > 255, CN/PNUM/PNO > 9999: they overflow the ledger's smallint); an
   encrypted frame encrypted again with the key that opened it does not decode to the
   same frame.

*Seeds*: every frame of ``tests/data/hj212/samples.json`` and every line of
``tests/data/hj212/virt2017.txt`` (copies of ../shared/hj212/), under several option
bytes, plus deterministic mutations of the sample frames (truncated, garbage around,
lower-case / unpadded / MODBUS CRC, LF only, wrong LLLL, oversize, glued frames, a
9999-byte claim, GB 18030 text); HJ 212-2025: the five ``vectors_2025.json`` frames and
frames built by the encoders (uploads plain and encrypted with either key, RF=1, split,
2111, 3020, 9015, Flag 8 replies, encrypted 2061 and 1014 requests), with and without the
keys, and broken ciphertext (cut inside the braces, a flipped nibble, a byte short of a
block, no closing brace, ``0xZZ``, spaces, empty braces, LLLL = wire length, glued).

Figures: inputs executed, coverage (libFuzzer ``cov`` edges and ``ft`` features, corpus
size), inputs/s, time, peak RSS, crashes, findings, the largest buffer seen.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from bench.fuzz_engines import (
    DEFAULT_MAX_LEN,
    DEFAULT_TIMEOUT_S,
    atheris_available,
    run_atheris,
    run_random,
    run_worker,
)
from bench.fuzz_target import DEFAULT_RSS_CAP_MB

__all__ = ["DEFAULT_INPUTS", "main", "report", "run"]

DEFAULT_INPUTS: Final = 1_000_000


def run(
    inputs: int = DEFAULT_INPUTS,
    *,
    engine: str = "auto",
    progress: Callable[[str], None] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """The bench scenario (``envgrid bench fuzz`` once registered in bench/cli.py)."""
    if engine == "auto":
        engine = "atheris" if atheris_available() else "random"
    if engine == "atheris":
        return run_atheris(inputs, progress=progress, **options)
    options.pop("max_len", None)
    options.pop("timeout_s", None)
    options.pop("stop_on_crash", None)
    options.pop("keep_dir", None)
    return run_random(inputs, progress=progress, **options)


def report(result: dict[str, Any]) -> str:
    lines = [
        f"fuzz — {result['engine']}",
        f"  inputs     {result['inputs']:,} of {result['inputs_requested']:,}"
        f" in {result['seconds']} s ({result['inputs_per_s']:,}/s), {result['seeds']:,} seeds",
    ]
    cov = result.get("coverage")
    if cov:
        lines.append(
            f"  coverage   {cov['edges']} edges, {cov['features']} features,"
            f" corpus {cov['corpus_units']} units ({cov['corpus_size']})"
        )
    errors = sum(result["frame_errors"].values())
    lines.append(
        f"  frames     {result['frames']:,} accepted, errors {errors:,}"
        f"; max buffered {result['max_buffered']:,} (cap {result['buffer_cap']:,});"
        f" slowest input {result['max_input_s']} s; peak RSS {result['peak_rss_mb']} MB"
    )
    lines.append(f"  crashes    {result['crash_inputs']} inputs, {len(result['crashes'])} kinds")
    for crash in result["crashes"]:
        lines.append(f"    {crash['signature']} × {crash['count']}: {crash['input_hex'][:160]}")
    for name, count in sorted(result["findings"].items()):
        lines.append(f"  finding    {name}: {count}")
    for item in result["fatal"]:
        lines.append(f"  FATAL      {item[:400]}")
    lines.append("  OK" if result["ok"] else "  NOT OK")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__)
    parser.add_argument("--inputs", type=int, default=DEFAULT_INPUTS)
    parser.add_argument("--json", metavar="OUT", help="write the result as JSON")
    parser.add_argument("--engine", choices=["auto", "atheris", "random"], default="auto")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-len", type=int, default=DEFAULT_MAX_LEN)
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT_S, help="s per input")
    parser.add_argument("--rss-mb", type=float, default=DEFAULT_RSS_CAP_MB)
    parser.add_argument("--stop-on-crash", action="store_true")
    parser.add_argument("--keep", metavar="DIR", help="keep libFuzzer's corpus and artifacts")
    parser.add_argument("--worker", metavar="CONFIG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args.worker)
        return 0
    options: dict[str, Any] = {"seed": args.seed, "rss_cap_mb": args.rss_mb}
    if args.engine != "random":
        options.update(
            max_len=args.max_len,
            timeout_s=args.timeout,
            stop_on_crash=args.stop_on_crash,
            keep_dir=Path(args.keep) if args.keep else None,
        )
    result = run(
        args.inputs,
        engine=args.engine,
        progress=lambda msg: print(msg, file=sys.stderr, flush=True),
        **options,
    )
    print(report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
