"""Reading a standards document: a validation context that checks each JSON node's type and
keys and names the file and the JSON pointer (RFC 6901) in every error, and the
``"verified": false`` markers collected from a document."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, cast

from aggregates.standards.numbers import to_fraction
from aggregates.standards.tables import Standard, UnverifiedValue, touches

__all__ = [
    "META_KEYS",
    "Reader",
    "StandardFileError",
    "collect_sources",
    "collect_unverified",
    "header_fields",
    "pointer_to",
    "verified_at",
]

META_KEYS = frozenset({"verified", "note", "notes", "source"})
_CELL_KEYS = frozenset({"value", "verified", "note", "source"})


class StandardFileError(ValueError):
    """A standards file is unreadable or malformed; the message names file and key."""


def pointer_to(base: str, key: str | int) -> str:
    token = str(key).replace("~", "~0").replace("/", "~1")
    return f"{base}/{token}"


@dataclass(frozen=True, slots=True)
class Reader:
    file: str

    def err(self, pointer: str, msg: str) -> StandardFileError:
        where = pointer or "/"
        return StandardFileError(f"{self.file}: {where}: {msg}")

    def obj(
        self,
        pointer: str,
        value: object,
        required: Iterable[str] = (),
        optional: Iterable[str] = (),
        *,
        open_keys: bool = False,
    ) -> dict[str, object]:
        if not isinstance(value, dict):
            raise self.err(pointer, f"expected an object, got {_type_name(value)}")
        obj = cast(dict[str, object], value)
        req = set(required)
        for key in req:
            if key not in obj:
                raise self.err(pointer_to(pointer, key), "required key is missing")
        if not open_keys:
            allowed = req | set(optional) | META_KEYS
            for key in obj:
                if key not in allowed:
                    raise self.err(
                        pointer_to(pointer, key),
                        f"unknown key (allowed: {', '.join(sorted(allowed))})",
                    )
        self.meta(pointer, obj)
        return obj

    def meta(self, pointer: str, obj: Mapping[str, object]) -> None:
        if "verified" in obj and not isinstance(obj["verified"], bool):
            raise self.err(pointer_to(pointer, "verified"), "must be true or false")
        for key in ("note", "source"):
            if key in obj and not isinstance(obj[key], str):
                raise self.err(pointer_to(pointer, key), "must be a string")
        if "notes" in obj:
            notes = obj["notes"]
            if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
                raise self.err(pointer_to(pointer, "notes"), "must be a list of strings")

    def members(self, pointer: str, value: object) -> list[tuple[str, str, object]]:
        """(key, pointer, value) of each member of an object with free keys (a table keyed
        by pollutant or indicator), its ``verified``/``note``/... keys left out."""
        obj = self.obj(pointer, value, open_keys=True)
        return [(k, pointer_to(pointer, k), v) for k, v in obj.items() if k not in META_KEYS]

    def lst(self, pointer: str, value: object, *, min_len: int = 0) -> list[object]:
        if not isinstance(value, list):
            raise self.err(pointer, f"expected a list, got {_type_name(value)}")
        if len(value) < min_len:
            raise self.err(pointer, f"expected at least {min_len} entries")
        return cast(list[object], value)

    def string(self, pointer: str, value: object) -> str:
        """A non-empty string, or a cell ``{"value": "...", "verified": ..}``."""
        if isinstance(value, dict):
            cell = self.obj(pointer, value, required=("value",), optional=_CELL_KEYS)
            return self.string(pointer_to(pointer, "value"), cell["value"])
        if not isinstance(value, str) or not value.strip():
            raise self.err(pointer, f"expected a non-empty string, got {_type_name(value)}")
        return value

    def opt_string(self, pointer: str, value: object) -> str | None:
        return None if value is None else self.string(pointer, value)

    def boolean(self, pointer: str, value: object) -> bool:
        if not isinstance(value, bool):
            raise self.err(pointer, f"expected true or false, got {_type_name(value)}")
        return value

    def integer(self, pointer: str, value: object, *, minimum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.err(pointer, f"expected an integer, got {_type_name(value)}")
        if minimum is not None and value < minimum:
            raise self.err(pointer, f"must be >= {minimum}")
        return value

    def number(self, pointer: str, value: object) -> Fraction:
        """A number, a numeric string or a cell ``{"value": n, "verified": ..}``."""
        if isinstance(value, dict):
            cell = self.obj(pointer, value, required=("value",), optional=_CELL_KEYS)
            return self.number(pointer_to(pointer, "value"), cell["value"])
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            raise self.err(pointer, f"expected a number, got {_type_name(value)}")
        try:
            return to_fraction(value)
        except ValueError as exc:
            raise self.err(pointer, str(exc)) from None

    def integers(self, pointer: str, value: object, n: int) -> tuple[int, ...]:
        """``n`` integers from 0 to 255 (an RGB colour, n = 3) or to 100 (CMYK, n = 4)."""
        items = self.lst(pointer, value)
        if len(items) != n:
            raise self.err(pointer, f"expected {n} integers")
        out = tuple(self.integer(pointer_to(pointer, i), v, minimum=0) for i, v in enumerate(items))
        limit = 255 if n == 3 else 100
        for i, v in enumerate(out):
            if v > limit:
                raise self.err(pointer_to(pointer, i), f"must be <= {limit}")
        return out

    def hex_colour(self, pointer: str, value: object, rgb: Sequence[int]) -> str:
        """A ``#RRGGBB`` string that must agree with ``rgb``; returned upper-case."""
        text = self.string(pointer, value)
        expected = "#{:02X}{:02X}{:02X}".format(*rgb)
        if text.upper() != expected:
            raise self.err(pointer, f"{text!r} does not match rgb {list(rgb)} ({expected})")
        return text.upper()

    def day(self, pointer: str, value: object) -> date:
        text = self.string(pointer, value)
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise self.err(pointer, f"expected an ISO date YYYY-MM-DD, got {text!r}") from None


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | Decimal):
        return "number"
    return type(value).__name__


def _plain(value: object) -> object:
    """Strip cell wrappers and convert Decimals, for reporting unverified values."""
    if isinstance(value, dict):
        d = cast(dict[str, object], value)
        if "value" in d and set(d) <= _CELL_KEYS:
            return _plain(d["value"])
        return {k: _plain(v) for k, v in d.items() if k not in META_KEYS}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return Fraction(value)
    return value


def _objects(node: object, pointer: str = "") -> Iterator[tuple[str, dict[str, object]]]:
    """Every JSON object of a document with its pointer, in document order, not entering
    the metadata keys (``verified``, ``note``, ``notes``, ``source``)."""
    if isinstance(node, dict):
        d = cast(dict[str, object], node)
        yield pointer or "/", d
        for key, child in d.items():
            if key not in META_KEYS:
                yield from _objects(child, pointer_to(pointer, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _objects(child, pointer_to(pointer, i))


def header_fields(header: Standard) -> dict[str, Any]:
    """The common header's fields, to build the table of its kind with."""
    return {f.name: getattr(header, f.name) for f in fields(Standard)}


def verified_at(pointer: str, unverified: Sequence[UnverifiedValue]) -> bool:
    """No ``"verified": false`` marker touches the value at ``pointer``."""
    return not any(touches(pointer, u.pointer) for u in unverified)


def collect_unverified(doc: object) -> list[UnverifiedValue]:
    """The values a document marks ``"verified": false``, with their note and source."""
    out: list[UnverifiedValue] = []
    for pointer, d in _objects(doc):
        if d.get("verified") is False:
            note, source = d.get("note"), d.get("source")
            out.append(
                UnverifiedValue(
                    pointer=pointer,
                    value=_plain(d),
                    note=note if isinstance(note, str) else None,
                    source=source if isinstance(source, str) else None,
                )
            )
    return out


def collect_sources(doc: object) -> list[tuple[str, str]]:
    """(pointer, text) of every ``"source"`` citation in a document, in document order."""
    return [(p, s) for p, d in _objects(doc) if isinstance(s := d.get("source"), str)]
