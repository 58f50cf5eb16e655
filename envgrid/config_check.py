"""``envgrid config check FILE``: validate a configuration file, each problem with the
line it is on.

A syntax error carries the TOML parser's own line and column.  A bad value is reported
at the line of its key, found by scanning the file for the ``[section]`` header and the
``key =`` line under it (``section.key =`` and ``[section.key]`` sub-tables count too);
a problem of the whole section (two settings that disagree, an unknown section) at the
section's header.  Only the file is checked: the environment and the defaults of
settings the file does not name are left out of the verdict.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from store.config import coerce, suggest
from store.validation import ConfigError

__all__ = ["Problem", "check_file", "locate"]

_HEADER: Final = re.compile(r"""^\s*\[\s*([A-Za-z0-9_.\-"' ]+?)\s*\]""")
_KEY: Final = re.compile(r"""^\s*([A-Za-z0-9_.\-"' ]+?)\s*=""")
_TOML_AT: Final = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    message: str
    column: int | None = None

    def render(self, path: Path) -> str:
        where = f"{path}:{self.line}" + (f":{self.column}" if self.column else "")
        return f"{where}: {self.message}"


def _dotted(text: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in text.split("."))


def locate(text: str, section: str, key: str | None = None) -> int:
    """The 1-based line of ``[section]`` (``key`` None) or of ``key`` in it; 1 if not found."""
    current = ""
    header_line = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if header := _HEADER.match(line):
            current = _dotted(header.group(1))
            if current == section and header_line == 0:
                header_line = number
            if key is not None and current == f"{section}.{key}":
                return number
            continue
        if not (assignment := _KEY.match(line)):
            continue
        name = _dotted(assignment.group(1))
        full = f"{current}.{name}" if current else name
        if key is None:
            if not current and header_line == 0 and f"{full}.".startswith(f"{section}."):
                header_line = number
            continue
        if full == f"{section}.{key}" or full.startswith(f"{section}.{key}."):
            return number
    return header_line or 1


def _key_named(message: str, section: str, keys: Sequence[str]) -> str | None:
    """The key of ``section`` that ``message`` names (``section.key`` as a whole word)."""
    for key in sorted(keys, key=len, reverse=True):
        if re.search(rf"(?<![\w.]){re.escape(section)}\.{re.escape(key)}(?![\w])", message):
            return key
    return None


def _check_section(name: str, cls: type[Any], table: dict[str, Any], text: str) -> list[Problem]:
    fields = [f.name for f in dataclasses.fields(cls) if f.init]
    hints = typing.get_type_hints(cls)
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for key, raw in table.items():
        if key not in fields:
            message = f"unknown setting {name}.{key}{suggest(key, fields)}"
            problems.append(Problem(locate(text, name, key), message))
            continue
        try:
            values[key] = coerce(raw, hints[key], name=f"{name}.{key}")
        except ConfigError as exc:
            problems.append(Problem(locate(text, name, key), str(exc)))
    if problems:
        return problems
    try:
        cls(**values)
    except ConfigError as exc:
        culprit = _key_named(str(exc), name, list(values))
        return [Problem(locate(text, name, culprit), str(exc))]
    return []


def check_file(path: Path, sections: Sequence[tuple[str, type[Any]]]) -> list[Problem]:
    """Every problem of the configuration file ``path`` (empty: the file is valid)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Problem(1, f"cannot read the file: {exc}")]
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        at = _TOML_AT.search(str(exc))
        message = _TOML_AT.sub("", str(exc)).strip()
        if at is None:
            return [Problem(1, f"invalid TOML: {message}")]
        return [Problem(int(at.group(1)), f"invalid TOML: {message}", int(at.group(2)))]
    classes = dict(sections)
    problems: list[Problem] = []
    for name, table in document.items():
        if name not in classes:
            hint = suggest(name, list(classes))
            valid = f"Valid sections: {', '.join(classes)}"
            message = f"unknown section [{name}]{hint or '.'} {valid}"
            problems.append(Problem(locate(text, name), message))
        elif not isinstance(table, dict):
            problems.append(Problem(locate(text, name), f"{name!r} must be a table ([{name}])"))
        else:
            problems += _check_section(name, classes[name], table, text)
    return sorted(problems, key=lambda p: p.line)
