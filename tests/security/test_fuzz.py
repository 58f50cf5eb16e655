"""A short slice of the codec fuzz of ``bench/fuzz.py`` (the 1,000,000-input run is the
opt-in bench scenario ``python -m bench.fuzz``): 20,000 deterministic inputs, h11's
invariant — events or FrameErrors, never an exception, never a buffer beyond
``HARD_CAP + 12 + 1`` — and the harness itself (seeds, repair, chunking, detection)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench import fuzz_corpus, fuzz_engines, fuzz_target
from protocol import HARD_CAP, Decoder, Frame, crc16


def test_twenty_thousand_inputs_hold_the_invariants() -> None:
    result = fuzz_engines.run_random(20_000, seed=0)
    assert result["inputs"] == 20_000
    assert not result["fatal"], result["fatal"]
    assert not result["crashes"], json.dumps(result["crashes"], indent=1)
    assert result["max_buffered"] <= HARD_CAP + 12 + 1
    assert result["frames"] > 10_000  # the seeds and repairs reach the parser
    assert len(result["frame_errors"]) >= 5  # … and every kind of rejection
    assert result["peak_rss_mb"] < fuzz_target.DEFAULT_RSS_CAP_MB


def test_seed_corpus_holds_every_sample_and_corpus_frame() -> None:
    seeds = fuzz_corpus.seed_corpus()
    streams = {s[2:] for s in seeds}
    for frame in fuzz_corpus.sample_frames():
        assert frame in streams
    lines = fuzz_corpus.corpus_lines()
    assert len(lines) > 4000
    for line in lines:
        assert line + b"\r\n" in streams
    assert any(len(s) > HARD_CAP + 12 for s in seeds)  # the buffer cap gets exercised


def test_repair_fixes_length_and_crc() -> None:
    frame = fuzz_corpus.sample_frames()[0]
    broken = frame[:2] + b"0001" + frame[6:20] + b"X" + frame[20:-6] + b"0000\r\n"
    fixed = fuzz_target.repair(b"junk" + broken + b"##ab", crc16)
    assert fixed.startswith(b"junk##") and fixed.endswith(b"##ab")
    [event] = Decoder().feed(fixed[4:-4])
    assert isinstance(event, Frame)
    assert b"X" in event.raw


def test_cuts() -> None:
    stream = b"a\nbb\nccc\n"
    assert fuzz_target.cuts_for(stream, 0) == []
    assert fuzz_target.cuts_for(stream, fuzz_target.BYTEWISE_PLAN) == list(range(1, len(stream)))
    assert {2, 5} <= set(fuzz_target.cuts_for(stream, fuzz_target.LINEWISE | 1))
    assert fuzz_target.cuts_for(stream, 7) == fuzz_target.cuts_for(stream, 7)  # reproducible


def test_exceptions_are_recorded_with_a_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    tally = fuzz_target.Tally()
    target = fuzz_target.FuzzTarget(tally)

    def broken(event: Any) -> None:
        raise RuntimeError("planted")

    monkeypatch.setattr(target, "touch", broken)
    frame = fuzz_corpus.sample_frames()[0]
    target(b"\x00\x00" + frame)
    target(b"\x00\x00" + frame + frame)
    [(signature, entry)] = tally.crashes.items()
    assert signature.startswith("RuntimeError@bench/fuzz_target.py:")
    assert entry["count"] == 2
    assert entry["input_hex"] == (b"\x00\x00" + frame).hex()  # the shorter reproducer


def test_buffer_cap_violation_is_fatal() -> None:
    target = fuzz_target.FuzzTarget(fuzz_target.Tally())
    target.cap = 100
    with pytest.raises(fuzz_target.InvariantViolation, match="buffers"):
        target(b"\x00\x00##9999" + b"x" * 500)


def test_memory_cap_violation_is_fatal() -> None:
    target = fuzz_target.FuzzTarget(fuzz_target.Tally(), rss_cap_mb=1, rss_every=1)
    with pytest.raises(fuzz_target.InvariantViolation, match="RSS"):
        target(b"\x00\x00")


def test_chunking_dependence_is_a_finding() -> None:
    """The harness notices when TCP segmentation changes what is accepted (F2)."""
    sample = fuzz_corpus.sample_frames()[0]
    segment = sample[6:-6].replace(b"DataTime", b"i12001-Info=//a\r\nb//;DataTime", 1)
    frame = b"##%04d%b%04X\r\n" % (len(segment), segment, crc16(segment))
    cut = frame.index(b"\r\n") + 2
    decoder = Decoder()
    split = decoder.feed(frame[:cut]) + decoder.feed(frame[cut:])
    depends = [e.raw for e in split if isinstance(e, Frame)] != [frame]  # F2 still there?
    tally = fuzz_target.Tally()
    fuzz_target.FuzzTarget(tally)(bytes((0, fuzz_target.LINEWISE | 1)) + frame)
    assert ("frames_depend_on_chunking" in tally.findings) is depends
    assert not tally.crashes


@pytest.mark.slow
def test_atheris_engine_runs_when_installed() -> None:
    if not fuzz_engines.atheris_available():
        pytest.skip("atheris is not installed (pip install atheris; the bench scenario needs it)")
    result = fuzz_engines.run_atheris(6_000)
    assert result["inputs"] >= 6_000
    assert not result["fatal"], result["fatal"]
    assert result["coverage"]["edges"] > 300


def test_2025_seeds_reach_decryption_and_each_refusal() -> None:
    """The HJ 212-2025 seeds: valid encrypted frames decrypt (with the current and the
    previous key), broken ciphertext and keyless decoders give their own errors, and the
    target finds nothing wrong with any of them."""
    tally = fuzz_target.Tally()
    target = fuzz_target.FuzzTarget(tally, catch=False)
    seeds = [s for s in fuzz_corpus.seed_corpus() if s[0] & fuzz_target.SM4 or b"CP=&&{" in s]
    notes: set[tuple[str, ...]] = set()
    errors: set[str] = set()
    for seed in seeds:
        target(seed)
        opts, stream = seed[0], seed[2:]
        if opts & fuzz_target.REPAIR:
            seal = fuzz_target.sm4_seal if opts & fuzz_target.SM4 else None
            stream = fuzz_target.repair(stream, crc16, seal)
        for event in target.decoder(opts).feed(stream):
            if isinstance(event, Frame):
                notes.add(event.notes)
            else:
                errors.add(event.code.value)
    assert {("sm4",), ("sm4", "sm4_previous_key")} <= notes
    assert {"sm4_no_key", "sm4_bad_ciphertext", "crc_mismatch"} <= errors
    result = tally.to_json()
    assert not result["crashes"] and not result["findings"], result
    repaired = fuzz_target.repair(
        b"##0000" + fuzz_corpus.vector_frames()[1][6:], crc16, fuzz_target.sm4_seal
    )
    decoded = Decoder(sm4_keys=fuzz_target.fuzz_keys).feed(repaired)
    assert isinstance(decoded[0], Frame) and decoded[0].encrypted  # LLLL of the plaintext
