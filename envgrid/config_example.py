"""``envgrid config example``: a complete, commented envgrid.toml made from the settings
dataclasses themselves, so it cannot drift from them.

Each section is introduced by its class docstring; each setting by the ``#:`` comment
lines written above its field (and any ``# -- group --`` divider), followed by
``key = default``.  Settings whose default is "unset" (``None``) are written commented
out, since TOML has no null; a setting with a fixed set of values names them.  The text
is read with :mod:`ast` from the class source, as Sphinx's autodoc reads ``#:`` comments.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

from store.config import ENV_ALIASES, ENV_PREFIX, settings_as_dict

__all__ = ["example_toml", "field_comments"]


def field_comments(cls: type[Any]) -> dict[str, list[str]]:
    """Field name -> the comment lines directly above it in ``cls``'s source (``#:``
    doc comments without the colon, group dividers as they are)."""
    lines = textwrap.dedent(inspect.getsource(cls)).splitlines()
    tree = ast.parse("\n".join(lines))
    node = tree.body[0]
    assert isinstance(node, ast.ClassDef)
    out: dict[str, list[str]] = {}
    for stmt in node.body:
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        above: list[str] = []
        row = stmt.lineno - 2  # 0-based index of the line above the field
        while row >= 0 and lines[row].strip().startswith("#"):
            text = lines[row].strip()
            above.insert(0, "#" + text[2:] if text.startswith("#:") else text)
            row -= 1
        out[stmt.target.id] = above
    return out


def _choices(annotation: Any) -> tuple[Any, ...]:
    """The values of a ``Literal[...]`` (also inside ``X | None``), else ``()``."""
    if typing.get_origin(annotation) is Literal:
        return typing.get_args(annotation)
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is Literal:
            return typing.get_args(arg)
    return ()


def _section_lines(
    name: str, cls: type[Any], defaults: Mapping[str, Any], render: Callable[[Any], str]
) -> Iterator[str]:
    doc = inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0]
    yield ""
    yield "# " + "-" * 86
    yield from (f"# {line}".rstrip() for line in doc.splitlines())
    yield "# " + "-" * 86
    yield f"[{name}]"
    comments = field_comments(cls)
    hints = typing.get_type_hints(cls)
    for fld in dataclasses.fields(cls):
        if not fld.init:
            continue
        yield from comments.get(fld.name, [])
        choices = _choices(hints[fld.name])
        if choices:
            yield "# one of: " + ", ".join(render(c) for c in choices)
        value = defaults[fld.name]
        if value is None:
            yield f"# {fld.name} =  (unset by default)"
        else:
            yield f"{fld.name} = {render(value)}"


def example_toml(
    sections: Sequence[tuple[str, type[Any]]], root: type[Any], render: Callable[[Any], str]
) -> str:
    """The commented example configuration of ``root`` (its ``sections``), every setting
    at its default; ``render`` writes one value as TOML."""
    defaults = settings_as_dict(root(), redact=False)
    aliases = ", ".join(f"{var} ({key})" for var, key in ENV_ALIASES.items())
    head = [
        "# envgrid.toml — every setting, at its default (`envgrid config example`).",
        "#",
        "# Delete what you do not change.  Precedence: defaults < this file < environment <",
        "# command line.  Any setting can also come from the environment as",
        f"# {ENV_PREFIX}<SECTION>__<KEY> (e.g. {ENV_PREFIX}INGEST__PORT=8212); short forms:",
        f"# {aliases}.",
        "# Check an edited file with `envgrid config check FILE`; see what is in force with",
        "# `envgrid --config FILE config show --sources`.",
    ]
    body = [
        line for name, cls in sections for line in _section_lines(name, cls, defaults[name], render)
    ]
    return "\n".join(head + body) + "\n"
