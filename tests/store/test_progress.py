"""store.progress: drawn on a terminal, silent when piped or quiet."""

from __future__ import annotations

import io
import os
import select
import sys
from collections.abc import Iterator

import pytest
from rich.console import Console

from store.progress import Progress, progress_console, track


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=100), out


def test_a_terminal_sees_tasks_and_notes() -> None:
    console, out = _console(True)
    with Progress(console=console) as progress:
        assert progress.enabled
        task = progress.task("importing stations", total=4)
        task.advance(2)
        task.update(description="importing stations 2/4")
        progress.note("item 3 skipped")
        task.advance(2)
        spin = progress.task("reading", total=None)
        spin.finish("read")
    text = out.getvalue()
    assert "importing stations 2/4" in text
    assert "item 3 skipped" in text
    assert "100%" in text
    assert "read" in text


@pytest.mark.parametrize(("terminal", "quiet"), [(False, False), (True, True), (False, True)])
def test_piped_or_quiet_prints_nothing(terminal: bool, quiet: bool) -> None:
    console, out = _console(terminal)
    with Progress(console=console, quiet=quiet) as progress:
        assert not progress.enabled
        task = progress.task("x", total=2)
        task.advance()
        task.update(completed=2, description="y")
        task.finish()
        progress.note("a note")
    assert out.getvalue() == ""


def test_track_yields_every_item() -> None:
    console, out = _console(True)
    assert list(track([1, 2, 3], "counting", console=console)) == [1, 2, 3]
    assert "counting" in out.getvalue()
    quiet_console, quiet_out = _console(False)
    assert list(track(iter("ab"), "letters", console=quiet_console)) == ["a", "b"]
    assert quiet_out.getvalue() == ""


@pytest.fixture
def pty_stderr(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, io.TextIOWrapper]]:
    """The master fd and a text stream on the slave side of a pseudo-terminal (a test
    puts it in ``sys.stderr`` itself: output capturing resets it after set-up)."""
    master, slave = os.openpty()
    stream = open(slave, "w", encoding="utf-8", closefd=True)  # noqa: SIM115
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.delenv("TTY_INTERACTIVE", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    try:
        yield master, stream
    finally:
        stream.close()
        os.close(master)


def read_pty(master: int) -> str:
    chunks = []
    while select.select([master], [], [], 0.2)[0]:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode("utf-8", "replace")


def test_default_console_is_stderr_when_it_is_a_tty(
    pty_stderr: tuple[int, io.TextIOWrapper], monkeypatch: pytest.MonkeyPatch
) -> None:
    master, stream = pty_stderr
    monkeypatch.setattr(sys, "stderr", stream)
    assert progress_console().is_interactive
    with Progress() as progress:
        progress.task("on a real pty", total=1).advance()
    stream.flush()
    assert "on a real pty" in read_pty(master)


def test_default_console_is_silent_when_stderr_is_a_pipe(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("TTY_COMPATIBLE", "TTY_INTERACTIVE", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    with Progress() as progress:
        progress.task("piped", total=1).advance()
    assert capsys.readouterr().err == ""
