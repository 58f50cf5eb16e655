"""The two fuzz engines: ``random`` (deterministic mutation in this process) and
``atheris`` (libFuzzer in a child process, ``protocol`` instrumented); see
:mod:`bench.fuzz`."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bench.fuzz_corpus import DICTIONARY, seed_corpus
from bench.fuzz_target import (
    DEFAULT_RSS_CAP_MB,
    REPAIR,
    FuzzTarget,
    InvariantViolation,
    Tally,
    fuzz_result,
)

#: libFuzzer's -max_len: above HARD_CAP + 12 so the buffer cap itself is exercised.
DEFAULT_MAX_LEN: Final = 12_000
DEFAULT_TIMEOUT_S: Final = 10
_PROGRESS_RE: Final = re.compile(
    r"^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+) corp: (\d+)/(\S+).*?exec/s: (\d+) rss: (\d+)Mb"
)
_STAT_RE: Final = re.compile(r"^stat::(\w+):\s+(\d+)")


# -- the random engine --------------------------------------------------------------------


def mutate(data: bytes, rng: random.Random, seeds: Sequence[bytes]) -> bytes:
    """1–4 random edits: flip, delete, insert a token, duplicate, splice, new opts/plan."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        i = rng.randrange(len(b) + 1)
        if op == 0 and len(b) > 2:
            b[rng.randrange(2, len(b))] ^= 1 << rng.randrange(8)
        elif op == 1:
            del b[i : i + rng.randint(1, 16)]
        elif op == 2:
            b[i:i] = rng.choice(DICTIONARY)
        elif op == 3:
            b[i:i] = b[i : i + rng.randint(1, 64)]
        elif op == 4:
            other = rng.choice(seeds)
            j = rng.randrange(len(other) + 1)
            b[i:] = other[j:]
        elif op == 5 and b:
            b[0] = rng.randrange(64)
        elif op == 6 and len(b) > 1:
            b[1] = rng.randrange(256)
        else:
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    if len(b) >= 1 and rng.random() < 0.5:
        b[0] |= REPAIR
    return bytes(b[:DEFAULT_MAX_LEN])


def run_random(
    inputs: int,
    *,
    seed: int = 0,
    rss_cap_mb: float = DEFAULT_RSS_CAP_MB,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The deterministic mutation engine, in this process (no coverage feedback)."""
    seeds = seed_corpus()
    tally = Tally()
    target = FuzzTarget(tally, rss_cap_mb=rss_cap_mb)
    rng = random.Random(seed)
    started = time.perf_counter()
    stopped = ""
    try:
        for k in range(inputs):
            data = seeds[k] if k < len(seeds) else mutate(rng.choice(seeds), rng, seeds)
            target(data)
            if progress is not None and k and k % 100_000 == 0:
                progress(f"{k:,} inputs, {k / (time.perf_counter() - started):,.0f}/s")
    except InvariantViolation as exc:
        stopped = str(exc)
    elapsed = time.perf_counter() - started
    if not stopped:
        target.check_memory()
    return fuzz_result(
        engine="random (deterministic mutation, no coverage feedback)",
        requested=inputs,
        executed=tally.inputs,
        elapsed=elapsed,
        tally=tally,
        seeds=len(seeds),
        fatal=[stopped] if stopped else [],
        extra={"seed": seed, "rss_cap_mb": rss_cap_mb},
    )


# -- the atheris engine -------------------------------------------------------------------


def atheris_available() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def _dictionary_file(path: Path) -> None:
    lines = []
    for k, token in enumerate(DICTIONARY):
        escaped = "".join(
            chr(c) if 0x20 <= c < 0x7F and c not in (0x22, 0x5C) else f"\\x{c:02X}" for c in token
        )
        lines.append(f'tok{k}="{escaped}"')
    path.write_text("\n".join(lines) + "\n")


def run_worker(config_path: str) -> None:
    """The libFuzzer process: instrument ``protocol``, then fuzz until -runs."""
    import atheris

    config = json.loads(Path(config_path).read_text())
    if any(name == "protocol" or name.startswith("protocol.") for name in sys.modules):
        raise RuntimeError("protocol was imported before instrumentation")
    with atheris.instrument_imports(include=["protocol"]):
        import protocol.decoder  # noqa: F401  (instrumented: the whole package)

    tally = Tally()
    target = FuzzTarget(tally, rss_cap_mb=config["rss_cap_mb"], catch=not config["stop_on_crash"])
    stats = Path(config["stats"])
    total = config["inputs"]

    def dump() -> None:
        tmp = stats.with_suffix(".tmp")
        tmp.write_text(json.dumps(tally.to_json()))
        tmp.replace(stats)

    def one_input(data: bytes) -> None:
        try:
            target(data)
        except InvariantViolation:
            dump()
            raise
        if tally.inputs % 10_000 == 0 or tally.inputs >= total - 1:
            dump()

    atheris.Setup([sys.argv[0], *config["libfuzzer_args"]], one_input)
    atheris.Fuzz()


@dataclass
class _LibFuzzerLog:
    #: the last status line (#runs, cov, ft, corp, exec/s, rss)
    last: dict[str, Any] = field(default_factory=dict)
    #: -print_final_stats=1 (stat::number_of_executed_units …)
    final: dict[str, int] = field(default_factory=dict)
    tail: list[str] = field(default_factory=list)


def _read_log(stream: Iterable[str], progress: Callable[[str], None] | None) -> _LibFuzzerLog:
    log = _LibFuzzerLog()
    for line in stream:
        log.tail = [*log.tail[-40:], line.rstrip()]
        m = _PROGRESS_RE.match(line)
        if m:
            log.last = {
                "runs": int(m.group(1)),
                "event": m.group(2),
                "edges": int(m.group(3)),
                "features": int(m.group(4)),
                "corpus_units": int(m.group(5)),
                "corpus_size": m.group(6),
                "exec_per_s": int(m.group(7)),
                "rss_mb": int(m.group(8)),
            }
            if progress is not None and m.group(2) in ("pulse", "INITED", "DONE"):
                progress(line.strip())
            continue
        s = _STAT_RE.match(line)
        if s:
            log.final[s.group(1)] = int(s.group(2))
    return log


def run_atheris(
    inputs: int,
    *,
    max_len: int = DEFAULT_MAX_LEN,
    timeout_s: int = DEFAULT_TIMEOUT_S,
    rss_cap_mb: float = DEFAULT_RSS_CAP_MB,
    seed: int = 1,
    stop_on_crash: bool = False,
    keep_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """libFuzzer via atheris in a child process; parses its statistics."""
    import atheris

    work = Path(tempfile.mkdtemp(prefix="envgrid-fuzz-"))
    try:
        seeds_dir = work / "seeds"
        corpus_dir = work / "corpus"
        artifacts = work / "artifacts"
        for d in (seeds_dir, corpus_dir, artifacts):
            d.mkdir()
        seeds = seed_corpus()
        for data in seeds:
            (seeds_dir / hashlib.sha1(data).hexdigest()).write_bytes(data)
        _dictionary_file(work / "hj212.dict")
        config = {
            "inputs": inputs,
            "rss_cap_mb": rss_cap_mb,
            "stop_on_crash": stop_on_crash,
            "stats": str(work / "stats.json"),
            "libfuzzer_args": [
                str(corpus_dir),
                str(seeds_dir),
                f"-runs={inputs}",
                f"-max_len={max_len}",
                f"-timeout={timeout_s}",
                f"-rss_limit_mb={int(rss_cap_mb) + 512}",
                f"-dict={work / 'hj212.dict'}",
                f"-seed={seed}",
                f"-artifact_prefix={artifacts}/",
                "-print_final_stats=1",
                "-print_pcs=0",
            ],
        }
        (work / "config.json").write_text(json.dumps(config))
        started = time.perf_counter()
        with subprocess.Popen(
            [sys.executable, "-m", "bench.fuzz", "--worker", str(work / "config.json")],
            cwd=os.getcwd(),  # the same ``bench``/``protocol`` as this process
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        ) as proc:
            assert proc.stderr is not None
            try:
                log = _read_log(proc.stderr, progress)
            except BaseException:  # Ctrl-C: the worker goes too
                proc.kill()
                raise
            returncode = proc.wait()
        last, final, tail = log.last, log.final, log.tail
        elapsed = time.perf_counter() - started
        tally = Tally()
        stats_file = work / "stats.json"
        if stats_file.exists():
            raw = json.loads(stats_file.read_text())
            for key in ("frame_errors", "kinds", "findings"):
                raw[key] = Counter(raw[key])
            tally = Tally(**raw)
        fatal = []
        for path in sorted(artifacts.iterdir()):
            data = path.read_bytes()
            fatal.append(
                f"{path.name.split('-')[0]}: {base64.b64encode(data[:4096]).decode()}"
                f" ({len(data)} bytes)"
            )
        if returncode != 0:
            fatal.append(f"libFuzzer exited with {returncode}: " + "\n".join(tail[-15:]))
        executed = final.get("number_of_executed_units", last.get("runs", tally.inputs))
        result = fuzz_result(
            engine=f"atheris {_version('atheris')} (libFuzzer, protocol/ instrumented)",
            requested=inputs,
            executed=executed,
            elapsed=elapsed,
            tally=tally,
            seeds=len(seeds),
            fatal=fatal,
            extra={
                "coverage": {
                    "edges": last.get("edges"),
                    "features": last.get("features"),
                    "corpus_units": last.get("corpus_units"),
                    "corpus_size": last.get("corpus_size"),
                    "new_units_added": final.get("new_units_added"),
                },
                "libfuzzer": {
                    "exec_per_s": final.get("average_exec_per_sec"),
                    "slowest_unit_s": final.get("slowest_unit_time_sec"),
                    "peak_rss_mb": final.get("peak_rss_mb"),
                    "max_len": max_len,
                    "timeout_s": timeout_s,
                    "rss_limit_mb": int(rss_cap_mb) + 512,
                    "seed": seed,
                },
                "rss_cap_mb": rss_cap_mb,
                "atheris_build": str(getattr(atheris, "build_mode", "")),
            },
        )
        if keep_dir is not None:
            keep_dir.mkdir(parents=True, exist_ok=True)
            for name in ("corpus", "artifacts"):
                shutil.copytree(work / name, keep_dir / name, dirs_exist_ok=True)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"
