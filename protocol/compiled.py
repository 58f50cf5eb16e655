"""The optional compiled speed-ups (setup.py builds them; ``make setup`` runs it).

As aiohttp's ``AIOHTTP_NO_EXTENSIONS``: ``ENVGRID_NO_EXTENSIONS=1`` (any non-empty value)
runs the pure-Python forms, and so does a source checkout whose C modules were not
built.  Every compiled function has a Python form that the tests hold it to.
``ingest.compiled`` does the same for the ingest package's module.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any, Final

__all__ = ["ENABLED", "compiled", "fastpath"]

#: False when ``ENVGRID_NO_EXTENSIONS`` is set
ENABLED: Final = not os.environ.get("ENVGRID_NO_EXTENSIONS")


def _load() -> ModuleType | None:
    if not ENABLED:
        return None
    try:
        from . import _fastpath  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - a checkout without the build
        return None
    return _fastpath  # type: ignore[no-any-return]


#: protocol._fastpath, or None (not built, or switched off)
fastpath: Final = _load()


def compiled(module: ModuleType | None, name: str) -> Any | None:
    """``module.name``, or None when the module is not in use."""
    return None if module is None else getattr(module, name)
