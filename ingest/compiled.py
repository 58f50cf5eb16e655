"""ingest._copyrows when it is built and not switched off (see :mod:`protocol.compiled`)."""

from __future__ import annotations

from types import ModuleType
from typing import Final

from protocol.compiled import load

__all__ = ["copyrows"]


def _copyrows() -> ModuleType:
    from . import _copyrows  # type: ignore[attr-defined]

    return _copyrows  # type: ignore[no-any-return]


#: ingest._copyrows, or None (not built, or switched off)
copyrows: Final = load(_copyrows)
