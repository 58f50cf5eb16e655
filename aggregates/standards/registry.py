"""The registry of loaded standards: the shipped tables plus operator override files, and the
choice of the table in force on a day (AQI.md §3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import cast

from aggregates.standards.parsing import parse_standard
from aggregates.standards.reader import StandardFileError
from aggregates.standards.tables import (
    AqciTable,
    AqiTable,
    Kind,
    LimitsTable,
    Standard,
    UnverifiedValue,
)

__all__ = [
    "NoStandardInForce",
    "StandardRegistry",
    "default_registry",
    "load_standards",
]


class NoStandardInForce(LookupError):
    """No standard of the kind applies on the day asked for (e.g. before the first one
    took effect); callers that take dates from users answer it as bad input."""


@dataclass(frozen=True, slots=True)
class StandardRegistry:
    """All loaded standards by id; choose the one in force by the date of the data."""

    standards: Mapping[str, Standard] = field(default_factory=dict)

    def get(self, standard_id: str) -> Standard:
        try:
            return self.standards[standard_id]
        except KeyError:
            known = ", ".join(sorted(self.standards))
            raise KeyError(f"no standard {standard_id!r} (loaded: {known})") from None

    def of_kind(self, kind: Kind) -> tuple[Standard, ...]:
        """The standards of one kind, oldest first."""
        return tuple(
            sorted(
                (s for s in self.standards.values() if s.kind == kind),
                key=lambda s: s.effective_from,
            )
        )

    def in_force(self, kind: Kind, on: date) -> Standard:
        """The table of ``kind`` for data of day ``on``: among those in force, the one with
        the latest ``effective_from``.  :class:`NoStandardInForce` (a ``LookupError``)
        when none applies.  A ``datetime``
        is reduced to its own calendar date (pass local China time)."""
        if isinstance(on, datetime):
            on = on.date()
        tables = self.of_kind(kind)
        candidates = [s for s in tables if s.applies_on(on)]
        if not candidates:
            spans = "; ".join(
                f"{s.code} from {s.effective_from}"
                + (f" to {s.effective_to}" if s.effective_to else "")
                for s in tables
            )
            raise NoStandardInForce(
                f"no {kind} standard in force on {on.isoformat()}: not computable"
                f" (loaded: {spans or 'none'})"
            )
        return candidates[-1]

    def aqi_table(self, on: date) -> AqiTable:
        """HJ 633 table for data of day ``on`` (2012 up to 2026-02-28, 2026 from 2026-03-01)."""
        return cast(AqiTable, self.in_force("aqi", on))

    def limits(self, on: date) -> LimitsTable:
        """GB 3095 limits for data of day ``on``."""
        return cast(LimitsTable, self.in_force("limits", on))

    def aqci(self, on: date) -> AqciTable:
        """Composite-index definition for a period identified by day ``on``."""
        return cast(AqciTable, self.in_force("aqci", on))

    def unverified(self, standard_id: str, prefix: str = "") -> tuple[UnverifiedValue, ...]:
        """Unverified values of one table (see :meth:`Standard.unverified`)."""
        return self.get(standard_id).unverified(prefix)


def _read_dir(directory: Path) -> list[Standard]:
    if not directory.is_dir():
        raise StandardFileError(f"{directory}: not a directory")
    out: list[Standard] = []
    ids: dict[str, str] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise StandardFileError(f"{path}: cannot read: {exc}") from None
        std = parse_standard(text, str(path))
        if std.id in ids:
            raise StandardFileError(f"{path}: /id: {std.id!r} is also defined in {ids[std.id]}")
        ids[std.id] = str(path)
        out.append(std)
    return out


def _shipped() -> list[Standard]:
    out: list[Standard] = []
    root = Path(__file__).parent
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json") and entry.is_file():
            out.append(
                parse_standard(
                    entry.read_text(encoding="utf-8"), f"aggregates/standards/{entry.name}"
                )
            )
    return out


def load_standards(extra_dirs: Sequence[Path] = ()) -> StandardRegistry:
    """Load the shipped tables, then every ``*.json`` in ``extra_dirs`` (in order).

    A file whose ``id`` matches an already loaded table replaces it (operator correction);
    a new ``id`` adds a table.  Two files of one directory with the same ``id``, or two
    tables of one kind with the same ``effective_from``, are errors.  All errors are
    :class:`StandardFileError` naming the file and the JSON pointer of the key.
    """
    by_id: dict[str, Standard] = {s.id: s for s in _shipped()}
    for directory in extra_dirs:
        for std in _read_dir(Path(directory)):
            by_id[std.id] = std
    seen: dict[tuple[str, date], Standard] = {}
    for std in by_id.values():
        key = (std.kind, std.effective_from)
        if key in seen:
            other = seen[key]
            raise StandardFileError(
                f"{std.source_file}: /effective_from: {std.kind} tables {std.id!r} and "
                f"{other.id!r} ({other.source_file}) both start on {std.effective_from}"
            )
        seen[key] = std
    return StandardRegistry(MappingProxyType(by_id))


_DEFAULT: list[StandardRegistry] = []


def default_registry() -> StandardRegistry:
    """The shipped tables only, loaded once."""
    if not _DEFAULT:
        _DEFAULT.append(load_standards())
    return _DEFAULT[0]
