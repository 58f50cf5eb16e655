"""The optional compiled speed-ups (setup.py builds them; ``make setup`` runs it).

As aiohttp's ``AIOHTTP_NO_EXTENSIONS``: ``ENVGRID_NO_EXTENSIONS=1`` (any non-empty value)
runs the pure-Python forms, and so does a source checkout whose C modules were not
built.  Every compiled function has a Python form that the tests hold it to.
``ingest.compiled`` does the same for the ingest package's module.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import ModuleType
from typing import Any, Final

__all__ = ["ENABLED", "compiled", "fastpath", "load"]

#: False when ``ENVGRID_NO_EXTENSIONS`` is set
ENABLED: Final = not os.environ.get("ENVGRID_NO_EXTENSIONS")


def load(importer: Callable[[], ModuleType]) -> ModuleType | None:
    """The module ``importer`` imports, or None when it is not built or switched off."""
    if not ENABLED:
        return None
    try:
        return importer()
    except ImportError:  # pragma: no cover - a checkout without the build
        return None


def _fastpath() -> ModuleType:
    from . import _fastpath  # type: ignore[attr-defined]

    return _fastpath  # type: ignore[no-any-return]


#: protocol._fastpath, or None (not built, or switched off)
fastpath: Final = load(_fastpath)


def compiled(module: ModuleType | None, name: str) -> Any | None:
    """``module.name``, or None when the module is not in use."""
    return None if module is None else getattr(module, name)
