"""``make setup`` builds the compiled speed-ups (setup.py): a machine where the build
silently failed would run the Python forms and miss the issue-23 CPU budget."""

from __future__ import annotations

import os

import pytest

import ingest.compiled
import protocol.compiled

FUNCTIONS = [
    (ingest.compiled.copyrows, "encode"),
    (ingest.compiled.copyrows, "latest"),
    (protocol.compiled.fastpath, "crc16"),
    (protocol.compiled.fastpath, "quick"),
    (protocol.compiled.fastpath, "frame_layout"),
    (protocol.compiled.fastpath, "feed_clean"),
    (protocol.compiled.fastpath, "data_ack"),
    (protocol.compiled.fastpath, "masked_text"),
]


@pytest.mark.parametrize(("module", "name"), FUNCTIONS)
def test_the_compiled_modules_are_built(module: object, name: str) -> None:
    if os.environ.get("ENVGRID_NO_EXTENSIONS"):
        assert module is None
    else:
        assert module is not None, "a C module is not built: run make setup"
        assert callable(protocol.compiled.compiled(module, name))  # type: ignore[arg-type]
