"""The error every configuration check raises, and the helper that raises it.

Kept apart from :mod:`store.settings` so the packages that declare settings
sections (``ingest.settings``, ``web.settings`` …) can import it without
importing the loader, which composes those very sections.
"""

from __future__ import annotations

__all__ = ["ConfigError", "is_hhmm", "require"]


class ConfigError(ValueError):
    """Invalid configuration; the message says what to change and where."""


def require(condition: bool, message: str) -> None:
    """Raise :class:`ConfigError` with ``message`` unless ``condition`` holds.

    For section ``__post_init__`` checks, e.g.
    ``require(self.workers >= 1, f"ingest.workers must be ≥ 1 (got {self.workers})")``.
    """
    if not condition:
        raise ConfigError(message)


def is_hhmm(value: str) -> bool:
    """``value`` is a wall-clock time ``HH:MM`` (00:00 … 23:59, ASCII digits)."""
    hh, sep, mm = value.partition(":")
    return (
        bool(sep)
        and hh.isascii()
        and hh.isdigit()
        and mm.isascii()
        and mm.isdigit()
        and int(hh) < 24
        and int(mm) < 60
    )
