"""The refusals of the grid, patrol and case modules (each becomes an HTTP error through
:data:`web.casework.kernel.access.ERRORS`, the modules' error table)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["GeoJSONImportError", "GridError", "WorkflowError"]


class WorkflowError(Exception):
    """A refused transition; ``str()`` is a Chinese message for the user.

    ``code``: ``unknown`` (no such state/action/role), ``role`` (the role may not),
    ``state`` (not possible in this state), ``switch`` (a switch rules it out), or, from the
    services, ``scope`` / ``input`` / ``conflict`` / ``not_found``.
    """

    def __init__(self, message: str, code: str = "state") -> None:
        super().__init__(message)
        self.code = code


class GridError(ValueError):
    """Refused grid operation; the message (Chinese) says why."""


class GeoJSONImportError(ValueError):
    """The file was refused; ``errors`` lists every problem (Chinese)."""

    def __init__(self, errors: Sequence[str]) -> None:
        more = f" 等 {len(errors)} 处错误" if len(errors) > 5 else ""
        super().__init__("；".join(errors[:5]) + more)
        self.errors = tuple(errors)
