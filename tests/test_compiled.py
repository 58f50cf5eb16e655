"""``make setup`` builds the compiled speed-ups (setup.py): a machine where the build
silently failed would run the Python forms and miss the issue-23 CPU budget."""

from __future__ import annotations

import os

import pytest

from protocol.compiled import compiled

MODULES = [("ingest._copyrows", "encode"), ("protocol._fastpath", "crc16"), ("protocol._fastpath", "quick")]


@pytest.mark.parametrize(("module", "name"), MODULES)
def test_the_compiled_modules_are_built(module: str, name: str) -> None:
    if os.environ.get("ENVGRID_NO_EXTENSIONS"):
        assert compiled(module, name) is None
    else:
        assert callable(compiled(module, name)), f"{module} is not built: run make setup"
