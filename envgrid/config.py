"""``envgrid config``: ``show`` the effective configuration (secrets masked), print a
commented ``example`` of every setting, ``check`` a file with line-accurate errors."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from envgrid.config_check import check_file
from envgrid.config_example import example_toml
from envgrid.settings import SECTIONS, Settings, load_settings_with_sources
from store.config import LoadedSettings, parse_assignments, settings_as_dict
from store.validation import ConfigError

__all__ = ["configure", "render_toml", "run"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = sub.add_parser(
        "show",
        help="print the effective configuration (defaults < file < environment < --set)",
        description="Print the effective configuration; passwords, secrets and tokens are masked.",
    )
    show.add_argument("--format", choices=("toml", "json"), default="toml")
    show.add_argument(
        "--sources",
        action="store_true",
        help="say where each value comes from (default, file, environment, command line)",
    )
    show.add_argument(
        "--set",
        metavar="SECTION.KEY=VALUE",
        action="append",
        default=[],
        dest="assignments",
        help="override a setting, as the command-line layer (repeatable)",
    )
    sub.add_parser(
        "example",
        help="print a complete, commented envgrid.toml (every setting at its default)",
        description="Print every section and setting with its default and meaning, as TOML.",
    )
    check = sub.add_parser(
        "check",
        help="validate a configuration file; errors name their line (exit 0 valid, 2 not)",
        description="Validate FILE alone (not the environment); each error gives FILE:LINE.",
    )
    check.add_argument("file", metavar="FILE", type=Path)


def run(args: argparse.Namespace) -> int:
    if args.config_command == "example":
        sys.stdout.write(example_toml(SECTIONS, Settings, _toml_value))
        return 0
    if args.config_command == "check":
        problems = check_file(args.file, SECTIONS)
        for problem in problems:
            print(problem.render(args.file), file=sys.stderr)
        if problems:
            return 2
        print(f"{args.file}: OK")
        return 0
    config = Path(args.config) if args.config else None
    try:
        overrides = parse_assignments(args.assignments)
        loaded = load_settings_with_sources(config, os.environ, overrides)
    except ConfigError as exc:
        print(f"envgrid: configuration error: {exc}", file=sys.stderr)
        return 2
    values = settings_as_dict(loaded.settings, redact=True)
    if args.format == "json":
        document: dict[str, Any] = values
        if args.sources:
            document = {
                "config_file": str(loaded.config_file) if loaded.config_file else None,
                "settings": values,
                "sources": dict(loaded.sources),
            }
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render_toml(loaded, values, with_sources=args.sources))
    return 0


# --------------------------------------------------------------------------
# A small TOML writer: it must comment out unset values and annotate sources,
# which a general-purpose serializer (tomli-w) cannot do.
# --------------------------------------------------------------------------


def _toml_string(text: str) -> str:
    escaped = json.dumps(text, ensure_ascii=False)  # JSON escapes are valid TOML escapes
    return escaped.replace("\x7f", "\\u007f")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def render_toml(
    loaded: LoadedSettings[Settings],
    values: dict[str, dict[str, Any]],
    *,
    with_sources: bool = False,
) -> str:
    """``values`` (from :func:`settings_as_dict`) as TOML; unset (None) values commented out."""
    origin = (
        f"configuration file {loaded.config_file}"
        if loaded.config_file
        else "no configuration file"
    )
    lines = ["# envgrid effective configuration", f"# {origin}"]
    for section, table in values.items():
        lines += ["", f"[{section}]"]
        for key, value in table.items():
            line = (
                f"# {_toml_key(key)} is unset"
                if value is None
                else f"{_toml_key(key)} = {_toml_value(value)}"
            )
            if with_sources:
                line += f"  # {loaded.sources.get(f'{section}.{key}', 'default')}"
            lines.append(line)
    return "\n".join(lines) + "\n"
