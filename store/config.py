"""Configuration loading: defaults < TOML file < environment < command line.

Every package declares its own section as a frozen, slotted dataclass with
defaults and validates it in ``__post_init__`` (raise :class:`ConfigError`
with the dotted name, the rule and the offending value).  The composition
root (``envgrid.settings``) holds the root dataclass, one field per section,
and calls :func:`load_with_sources` with it; this module knows no section.

Sources, lowest to highest precedence:

1. dataclass defaults;
2. the TOML file: ``--config FILE``, else ``$ENVGRID_CONFIG``, else
   ``./envgrid.toml`` if it exists (an explicitly named file must exist);
3. the environment: ``ENVGRID_<SECTION>__<FIELD>`` (e.g.
   ``ENVGRID_INGEST__PORT=2121``) and the aliases in :data:`ENV_ALIASES`
   (``ENVGRID_DSN``, ``ENVGRID_DATA_DIR``);
4. command-line overrides, a mapping of dotted keys
   (``{"database.dsn": "...", "ingest.port": 2121}``).

Values are coerced by the field's annotation (see :func:`coerce`).  Unknown
sections, keys and ``ENVGRID_*`` variables are errors, with a did-you-mean
suggestion.  Nothing here keeps state between calls; only the entry point
passes ``os.environ`` in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import json
import tomllib
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Generic, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from store.validation import ConfigError

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "ENV_ALIASES",
    "ENV_CONFIG",
    "ENV_PREFIX",
    "LoadedSettings",
    "SettingsLoader",
    "build_section",
    "coerce",
    "find_config_file",
    "is_secret_key",
    "load_with_sources",
    "mask_dsn",
    "parse_assignments",
    "sections_of",
    "settings_as_dict",
    "suggest",
]

ENV_PREFIX: Final = "ENVGRID_"
ENV_CONFIG: Final = "ENVGRID_CONFIG"
#: not a setting: the process runs the pure-Python forms of the C speed-ups
#: (protocol/compiled.py), read before any settings exist
ENV_NO_EXTENSIONS: Final = "ENVGRID_NO_EXTENSIONS"
DEFAULT_CONFIG_NAME: Final = "envgrid.toml"
#: Short environment names for the settings everyone sets: alias -> dotted key.
ENV_ALIASES: Final[Mapping[str, str]] = types.MappingProxyType(
    {"ENVGRID_DSN": "database.dsn", "ENVGRID_DATA_DIR": "core.data_dir"}
)
_SECRET_WORDS: Final = ("password", "secret", "token")
#: Settings whose text carries credentials without saying so in its name: the off-site
#: copy command (``rclone … --s3-secret=…``, ``curl -u user:token …``).
_SECRET_NAMES: Final = frozenset({"copy_command"})
_MASK: Final = "***"

T = TypeVar("T")

#: What the composition root hands a subcommand that needs the configuration:
#: ``load(overrides)`` builds the root settings from ``--config``, the environment and
#: the command's own overrides (``{"database.dsn": ...}``).  A package types it with the
#: Protocol of the sections it reads, e.g. ``SettingsLoader[IngestConfig]``.
SettingsLoader = Callable[[Mapping[str, Any]], T]


def suggest(word: str, choices: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _unknown(message: str, word: str, choices: Sequence[str], what: str) -> ConfigError:
    """``message; did you mean 'x'? Valid <what>: a, b, c`` as a :class:`ConfigError`."""
    hint = suggest(word, choices)
    return ConfigError(f"{message}{hint}{' ' if hint else '. '}Valid {what}: {', '.join(choices)}")


def sections_of(root: type[Any]) -> tuple[tuple[str, type[Any]], ...]:
    """(name, section class) for every field of the root dataclass, in declaration order."""
    hints = typing.get_type_hints(root)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(root))

# --------------------------------------------------------------------------
# Coercion
# --------------------------------------------------------------------------

_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off"})


def coerce(value: Any, annotation: Any, *, name: str = "value") -> Any:
    """Convert ``value`` (from TOML, an env string or a CLI override) to ``annotation``.

    Supported: ``str``, ``int``, ``float``, ``bool`` (``true/false/1/0/yes/no/on/off``),
    ``pathlib.Path``, ``Literal[...]``, ``X | None`` (an empty string means None),
    ``tuple[X, ...]`` (a list, or a comma-separated string) and ``dict[str, X]`` (a table,
    a JSON object string, or ``k=v,k2=v2``).  Raises :class:`ConfigError` naming ``name``.
    """
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        blank = value is None or (isinstance(value, str) and not value.strip())
        if blank and type(None) in args:
            return None
        if len(options) != 1:
            raise TypeError(f"{name}: unsupported annotation {annotation!r}")
        return coerce(value, options[0], name=name)
    if value is None:
        raise ConfigError(f"{name} must be set (got nothing)")
    if origin is Literal:
        text = str(value)
        if text not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ConfigError(
                f"{name} must be one of {choices} (got {value!r}"
                f"{suggest(text, [str(a) for a in args])})"
            )
        return text
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ConfigError(f"{name} must be true or false (got {value!r})")
    if annotation is int or annotation is float:
        return _number(value, annotation, name)
    if annotation is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{name} must be a string (got {value!r}); quote it in TOML")
    if annotation is Path:
        if isinstance(value, str | Path):
            return Path(value)
        raise ConfigError(f"{name} must be a path string (got {value!r})")
    if origin is tuple:
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"{name}: only tuple[X, ...] is supported (got {annotation!r})")
        if isinstance(value, str):
            items: Sequence[Any] = [p.strip() for p in value.split(",") if p.strip()]
        elif isinstance(value, list | tuple):
            items = value
        else:
            raise ConfigError(f"{name} must be a list (got {value!r})")
        return tuple(coerce(v, args[0], name=f"{name}[{i}]") for i, v in enumerate(items))
    if origin is dict:
        key_type, value_type = args
        if key_type is not str:
            raise TypeError(f"{name}: only dict[str, X] is supported (got {annotation!r})")
        table = _parse_table(value, name)
        return {
            str(k): coerce(
                _scalar_text(v) if value_type is str else v, value_type, name=f"{name}.{k}"
            )
            for k, v in table.items()
        }
    raise TypeError(f"{name}: unsupported annotation {annotation!r}")


def _number(value: Any, kind: type[int] | type[float], name: str) -> int | float:
    """An int (or float) from a number or its text; booleans are not numbers."""
    if not isinstance(value, bool):
        if isinstance(value, int) or (kind is float and isinstance(value, float)):
            return kind(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return kind(value.strip())
    what = "an integer" if kind is int else "a number"
    raise ConfigError(f"{name} must be {what} (got {value!r})")


def _parse_table(value: Any, name: str) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{name}: invalid JSON object ({exc})") from None
            if isinstance(parsed, dict):
                return parsed
            raise ConfigError(f"{name} must be a table (got {value!r})")
        table: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, val = part.partition("=")
            if not sep or not key.strip():
                raise ConfigError(
                    f"{name} must be 'key=value,key2=value2' or a JSON object (got {value!r})"
                )
            table[key.strip()] = val.strip()
        return table
    raise ConfigError(f"{name} must be a table (got {value!r})")


def _scalar_text(value: Any) -> Any:
    """Let ``dict[str, str]`` tables hold TOML numbers and booleans (``max_connections = 300``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


# --------------------------------------------------------------------------
# Building sections from layered sources
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Layer:
    """One source of values for one section: field -> (raw value, where it came from)."""

    values: Mapping[str, tuple[Any, str]]


def _build(cls: type[T], section: str, layers: Sequence[_Layer], sources: dict[str, str]) -> T:
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for layer in layers:
        for key, (raw, where) in layer.values.items():
            if key not in fields:
                raise _unknown(
                    f"unknown setting {section}.{key} (from {where})", key, list(fields), "keys"
                )
            try:
                values[key] = coerce(raw, hints[key], name=f"{section}.{key}")
            except ConfigError as exc:
                raise ConfigError(f"{exc} (from {where})") from None
            origin[key] = where
    try:
        obj = cls(**values)
    except ConfigError as exc:
        culprits = sorted({origin[k] for k in values if f"{section}.{k} " in f"{exc} "})
        raise ConfigError(f"{exc} (from {', '.join(culprits)})" if culprits else str(exc)) from None
    for key in fields:
        sources[f"{section}.{key}"] = origin.get(key, "default")
    return obj


def _env_layer(env: Mapping[str, str], prefix: str) -> dict[str, tuple[Any, str]]:
    out: dict[str, tuple[Any, str]] = {}
    for var, raw in env.items():
        if var.startswith(prefix) and len(var) > len(prefix):
            out[var[len(prefix) :].lower()] = (raw, f"environment {var}")
    return out


def build_section(
    cls: type[T],
    table: Mapping[str, Any],
    env: Mapping[str, str],
    prefix: str,
    *,
    section: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    sources: dict[str, str] | None = None,
) -> T:
    """Build one section: defaults < ``table`` (TOML) < ``env[prefix + FIELD]`` < ``overrides``.

    ``prefix`` is e.g. ``"ENVGRID_INGEST__"``; ``section`` (default: derived from ``prefix``)
    names the section in messages.  ``sources``, if given, receives ``"section.field" -> origin``.
    """
    name = section or prefix.removeprefix(ENV_PREFIX).rstrip("_").lower() or cls.__name__
    layers = [
        _Layer({k: (v, "config file") for k, v in table.items()}),
        _Layer(_env_layer(env, prefix)),
        _Layer({k: (v, "command line") for k, v in (overrides or {}).items()}),
    ]
    return _build(cls, name, layers, {} if sources is None else sources)


# --------------------------------------------------------------------------
# Loading the whole configuration
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadedSettings(Generic[T]):
    settings: T
    #: The TOML file that was read, if any.
    config_file: Path | None
    #: ``"section.field"`` -> ``"default"``, ``"config file <path>"``, ``"environment VAR"`` …
    sources: Mapping[str, str]


def find_config_file(path: Path | None, environ: Mapping[str, str], cwd: Path) -> Path | None:
    """The file to read: ``path``, else ``$ENVGRID_CONFIG``, else ``cwd/envgrid.toml`` if any."""
    if path is not None:
        explicit, how = path, "--config"
    elif environ.get(ENV_CONFIG):
        explicit, how = Path(environ[ENV_CONFIG]), ENV_CONFIG
    else:
        default = cwd / DEFAULT_CONFIG_NAME
        return default if default.is_file() else None
    if not explicit.is_file():
        raise ConfigError(f"configuration file {explicit} (from {how}) does not exist")
    return explicit


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration file: {exc.strerror}") from None


def _split_dotted(key: str, where: str, names: Sequence[str]) -> tuple[str, str]:
    section, dot, fld = key.partition(".")
    if not dot or not fld:
        raise ConfigError(f"{where}: {key!r} must be 'section.key' (e.g. 'database.dsn')")
    if section not in names:
        raise _unknown(
            f"{where}: unknown section {section!r} in {key!r}", section, names, "sections"
        )
    return section, fld


def load_with_sources(
    root: type[T],
    path: Path | None,
    environ: Mapping[str, str],
    overrides: Mapping[str, Any] | None = None,
    *,
    discover: bool = True,
    cwd: Path | None = None,
) -> LoadedSettings[T]:
    """Build the ``root`` dataclass (one field per section) from defaults, the TOML file,
    ``environ`` and ``overrides``; also report which file and source set each value.

    ``path`` is the ``--config`` file (must exist); without it ``$ENVGRID_CONFIG`` or
    ``./envgrid.toml`` is used unless ``discover`` is false (tests: no stray files).
    Raises :class:`ConfigError` with a one-line, actionable message.
    """
    sections = sections_of(root)
    names = [n for n, _ in sections]
    config_file = find_config_file(path, environ, cwd or Path.cwd()) if discover or path else None
    file_where = f"config file {config_file}"
    document = _read_toml(config_file) if config_file else {}
    per_section: dict[str, dict[str, dict[str, tuple[Any, str]]]] = {
        n: {"file": {}, "env": {}, "cli": {}} for n in names
    }
    for section, table in document.items():
        if section not in names:
            raise _unknown(
                f"{config_file}: unknown section [{section}]", section, names, "sections"
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{config_file}: {section!r} must be a table ([{section}])")
        per_section[section]["file"] = {k: (v, file_where) for k, v in table.items()}

    for var, raw in environ.items():
        if not var.startswith(ENV_PREFIX) or var in (ENV_CONFIG, ENV_NO_EXTENSIONS):
            continue
        if var in ENV_ALIASES:
            section, fld = ENV_ALIASES[var].split(".")
            canonical = f"{ENV_PREFIX}{section.upper()}__{fld.upper()}"
            if canonical in environ and environ[canonical] != raw:
                raise ConfigError(
                    f"both {var} and {canonical} are set, to different values; unset one"
                )
            per_section[section]["env"].setdefault(fld, (raw, f"environment {var}"))
            continue
        head, sep, tail = var[len(ENV_PREFIX) :].partition("__")
        if not sep:
            known = [*ENV_ALIASES, ENV_CONFIG, ENV_NO_EXTENSIONS]
            known += (f"{ENV_PREFIX}{n.upper()}__…" for n in names)
            raise ConfigError(
                f"unknown environment variable {var}{suggest(var, known)}"
                f" (use {ENV_PREFIX}<SECTION>__<KEY>, e.g. {ENV_PREFIX}DATABASE__POOL_MAX)"
            )
        section = head.lower()
        if section not in names:
            raise _unknown(
                f"environment variable {var}: unknown section {section!r}",
                section,
                names,
                "sections",
            )
        per_section[section]["env"][tail.lower()] = (raw, f"environment {var}")

    for key, value in (overrides or {}).items():
        section, fld = _split_dotted(key, "command line", names)
        per_section[section]["cli"][fld] = (value, "command line")

    sources: dict[str, str] = {}
    built = {
        name: _build(
            cls,
            name,
            [_Layer(per_section[name][layer]) for layer in ("file", "env", "cli")],
            sources,
        )
        for name, cls in sections
    }
    return LoadedSettings(root(**built), config_file, types.MappingProxyType(sources))


def parse_assignments(items: Sequence[str]) -> dict[str, str]:
    """``["ingest.port=2121", ...]`` (from ``--set``) -> ``{"ingest.port": "2121"}``."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects SECTION.KEY=VALUE (got {item!r})")
        out[key.strip()] = value
    return out


# --------------------------------------------------------------------------
# Presenting
# --------------------------------------------------------------------------


def is_secret_key(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_NAMES or any(word in lowered for word in _SECRET_WORDS)


def mask_dsn(dsn: str) -> str:
    """``postgresql://u:secret@h/db`` -> ``postgresql://u:***@h/db``; also ``password=`` params."""
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return _MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{_MASK}@{hostinfo}" if colon else netloc
    query = "&".join(
        f"{k}={_MASK}" if is_secret_key(k) else f"{k}{eq}{v}"
        for k, eq, v in (p.partition("=") for p in parts.query.split("&") if p)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _present(name: str, value: Any, redact: bool) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_present(name, v, redact) for v in value]
    if isinstance(value, dict):
        return {k: _present(k, v, redact) for k, v in value.items()}
    if redact and value not in (None, "") and is_secret_key(name):
        return _MASK
    if redact and isinstance(value, str) and "dsn" in name.lower():
        return mask_dsn(value)
    return value


def settings_as_dict(settings: Any, *, redact: bool = True) -> dict[str, dict[str, Any]]:
    """``{section: {field: value}}`` of a root dataclass, JSON/TOML-friendly, secrets masked."""
    out: dict[str, dict[str, Any]] = {}
    for name, _cls in sections_of(type(settings)):
        section = getattr(settings, name)
        out[name] = {
            f.name: _present(f.name, getattr(section, f.name), redact)
            for f in dataclasses.fields(section)
        }
    return out
