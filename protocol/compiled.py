"""The optional compiled speed-ups (setup.py builds them; ``make setup`` runs it).

As aiohttp's ``AIOHTTP_NO_EXTENSIONS``: ``ENVGRID_NO_EXTENSIONS=1`` (any non-empty value)
runs the pure-Python forms, and so does a source checkout whose C modules were not
built.  Every compiled function has a Python form that the tests hold it to.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

__all__ = ["compiled"]


def compiled(module: str, name: str) -> Any | None:
    """``module.name`` of a compiled module, or None (not built, or switched off)."""
    if os.environ.get("ENVGRID_NO_EXTENSIONS"):
        return None
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError:  # pragma: no cover - a checkout without the build
        return None
