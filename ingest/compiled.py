"""ingest._copyrows when it is built and not switched off (see :mod:`protocol.compiled`)."""

from __future__ import annotations

from types import ModuleType
from typing import Final

from protocol.compiled import ENABLED

__all__ = ["copyrows"]


def _load() -> ModuleType | None:
    if not ENABLED:
        return None
    try:
        from . import _copyrows  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - a checkout without the build
        return None
    return _copyrows  # type: ignore[no-any-return]


#: ingest._copyrows, or None (not built, or switched off)
copyrows: Final = _load()
