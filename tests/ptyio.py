"""A command's stderr on a pseudo-terminal (``pty``), to see what a person at a terminal
sees: progress displays draw only there."""

from __future__ import annotations

import io
import os
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PtyRun", "TerminalBuffer", "run_on_pty"]


class TerminalBuffer(io.StringIO):
    """A text buffer that says it is a terminal: put it in ``sys.stderr`` (in the test's
    body — output capturing resets it after set-up) to see an in-process command's display."""

    def isatty(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class PtyRun:
    returncode: int
    stdout: str
    terminal: str  # what reached the terminal (stderr), escape sequences included


def _drain(master: int, into: list[bytes]) -> None:
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the last writer closed the slave side
            return
        if not data:
            return
        into.append(data)


def run_on_pty(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    timeout: float = 120.0,
) -> PtyRun:
    """Run ``argv`` with stderr on a pty (stdout piped); the terminal's text is read while
    the command runs, so a chatty display never blocks it."""
    master, slave = os.openpty()
    chunks: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(master, chunks), daemon=True)
    reader.start()
    environ = {k: v for k, v in env.items() if k not in ("TTY_COMPATIBLE", "TTY_INTERACTIVE")}
    environ.setdefault("TERM", "xterm")
    environ["COLUMNS"] = "120"
    try:
        with subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=slave,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=environ,
        ) as proc:
            os.close(slave)
            slave = -1
            out, _ = proc.communicate(timeout=timeout)
        reader.join(timeout=5)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    return PtyRun(proc.returncode, out.decode(), b"".join(chunks).decode("utf-8", "replace"))
