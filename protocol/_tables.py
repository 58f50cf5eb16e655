"""The code tables of this package are data files beside it (``commands.json``,
``factors.json``, ``flags.json``, ``systems.json``); each table module reads its file once,
at import, through :func:`load_table`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["load_table"]


def load_table(name: str) -> Any:
    """The parsed JSON document ``name`` of this package's directory."""
    return json.loads(Path(__file__).with_name(name).read_text(encoding="utf-8"))
