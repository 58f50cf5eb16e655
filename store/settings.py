"""Configuration: loaded once by the entry point, then passed down.

Every package declares its section as a frozen, slotted dataclass with
defaults and validates it in ``__post_init__`` (raise :class:`ConfigError`
with the dotted name, the rule and the offending value).  The root
:class:`Settings` holds one field per section; adding a section is one line
there, and :data:`SECTIONS` (derived from it) drives loading and
``envgrid config show``.

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
suggestion.  Nothing here keeps state between calls; nothing else in the
project reads ``os.environ``.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import json
import tomllib
import types
import typing
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "ENV_ALIASES",
    "ENV_CONFIG",
    "ENV_PREFIX",
    "SECTIONS",
    "ConfigError",
    "CoreSettings",
    "DatabaseSettings",
    "LoadedSettings",
    "Settings",
    "build_section",
    "coerce",
    "find_config_file",
    "is_secret_key",
    "load_settings",
    "load_settings_with_sources",
    "mask_dsn",
    "parse_assignments",
    "require",
    "settings_as_dict",
]

ENV_PREFIX: Final = "ENVGRID_"
ENV_CONFIG: Final = "ENVGRID_CONFIG"
DEFAULT_CONFIG_NAME: Final = "envgrid.toml"
#: Short environment names for the settings everyone sets: alias -> dotted key.
ENV_ALIASES: Final[Mapping[str, str]] = types.MappingProxyType(
    {"ENVGRID_DSN": "database.dsn", "ENVGRID_DATA_DIR": "core.data_dir"}
)
_SECRET_WORDS: Final = ("password", "secret", "token")
_MASK: Final = "***"

T = TypeVar("T")


from store.validation import ConfigError, require  # noqa: E402 - re-exported


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _unknown(message: str, word: str, choices: Sequence[str], what: str) -> ConfigError:
    """``message; did you mean 'x'? Valid <what>: a, b, c`` as a :class:`ConfigError`."""
    hint = _suggest(word, choices)
    return ConfigError(f"{message}{hint}{' ' if hint else '. '}Valid {what}: {', '.join(choices)}")


# --------------------------------------------------------------------------
# Sections defined by store/
# --------------------------------------------------------------------------

_LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_LOOPBACK_NAMES: Final = ("localhost",)


@dataclass(frozen=True, slots=True)
class CoreSettings:
    """Process-wide basics."""

    #: Where envgrid keeps its state: the embedded cluster (``pg/``), the spool, exports.
    data_dir: Path = Path("var")
    #: Day boundaries, reports and the dashboard use this zone; storage is timestamptz.
    timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    def __post_init__(self) -> None:
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"core.timezone {self.timezone!r} is not a known IANA time zone"
                f"{_suggest(self.timezone, sorted(zoneinfo.available_timezones()))}"
                " (e.g. 'Asia/Shanghai', 'UTC')"
            ) from None
        level = self.log_level.upper()
        require(
            level in _LOG_LEVELS,
            f"core.log_level must be one of {', '.join(_LOG_LEVELS)} (got {self.log_level!r})",
        )
        object.__setattr__(self, "log_level", level)
        require(
            self.log_format in ("text", "json"),
            f"core.log_format must be 'text' or 'json' (got {self.log_format!r})",
        )

    @property
    def pg_dir(self) -> Path:
        """Directory of the embedded PostgreSQL cluster."""
        return self.data_dir / "pg"


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    """Where the data lives.  ``dsn = None`` means the embedded cluster."""

    #: ``postgresql://user:password@host:port/db``; unset → private cluster in core.data_dir/pg.
    dsn: str | None = None
    embedded_host: str = "127.0.0.1"
    embedded_port: int = 55432
    #: Directory with ``initdb``/``postgres``/``pg_ctl``; unset → ``pg_config --bindir``, then
    #: the newest ``/usr/lib/postgresql/<N>/bin``.
    embedded_bindir: Path | None = None
    #: OS account that runs the embedded cluster when envgrid runs as root.
    embedded_os_user: str = "postgres"
    #: Extra ``postgresql.conf`` settings for the embedded cluster; they win over the defaults.
    embedded_tuning: dict[str, str] = field(default_factory=dict)
    pool_min: int = 2
    pool_max: int = 10
    #: Per-statement limit for application connections; 0 disables it.  Migrations ignore it.
    statement_timeout_ms: int = 60_000
    connect_timeout_s: float = 10.0
    application_name: str = "envgrid"
    #: Apply pending migrations when a server process starts.
    migrate_on_start: bool = True

    def __post_init__(self) -> None:
        if self.dsn is not None:
            scheme = self.dsn.partition("://")[0]
            require(
                scheme in ("postgresql", "postgres") and "://" in self.dsn,
                "database.dsn must be a URL like postgresql://user:password@host:5432/dbname"
                f" (got {mask_dsn(self.dsn)!r})",
            )
        require(
            _is_loopback(self.embedded_host),
            "database.embedded_host must be a loopback address such as 127.0.0.1"
            f" (got {self.embedded_host!r}): the embedded cluster trusts local connections"
            " without a password; for remote access run a managed server and set database.dsn",
        )
        require(
            1 <= self.embedded_port <= 65535,
            f"database.embedded_port must be between 1 and 65535 (got {self.embedded_port})",
        )
        require(self.pool_min >= 0, f"database.pool_min must be ≥ 0 (got {self.pool_min})")
        require(self.pool_max >= 1, f"database.pool_max must be ≥ 1 (got {self.pool_max})")
        require(
            self.pool_min <= self.pool_max,
            f"database.pool_min ({self.pool_min}) must not exceed"
            f" database.pool_max ({self.pool_max})",
        )
        require(
            self.statement_timeout_ms >= 0,
            f"database.statement_timeout_ms must be ≥ 0, 0 = no limit"
            f" (got {self.statement_timeout_ms})",
        )
        require(
            self.connect_timeout_s > 0,
            f"database.connect_timeout_s must be > 0 (got {self.connect_timeout_s})",
        )
        require(
            bool(self.embedded_os_user),
            "database.embedded_os_user must name an OS account (e.g. 'postgres')",
        )


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# The other sections are declared by the packages that own them (pure data modules that
# import only store.validation).
from aggregates.settings import AggregatesSettings  # noqa: E402
from alerts.settings import AlertSettings  # noqa: E402
from ingest.settings import IngestSettings  # noqa: E402
from web.casework.kernel.settings import CaseSettings  # noqa: E402
from web.settings import WebSettings  # noqa: E402


@dataclass(frozen=True, slots=True)
class Settings:
    """The whole configuration.  One field per section — add new sections here."""

    core: CoreSettings = field(default_factory=CoreSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    aggregates: AggregatesSettings = field(default_factory=AggregatesSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    web: WebSettings = field(default_factory=WebSettings)
    cases: CaseSettings = field(default_factory=CaseSettings)


#: (name, section class) for every section, in declaration order.
SECTIONS: Final[tuple[tuple[str, type[Any]], ...]] = tuple(
    (f.name, typing.get_type_hints(Settings)[f.name]) for f in dataclasses.fields(Settings)
)


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
                f"{_suggest(text, [str(a) for a in args])})"
            )
        return text
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ConfigError(f"{name} must be true or false (got {value!r})")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ConfigError(f"{name} must be an integer (got {value!r})")
    if annotation is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise ConfigError(f"{name} must be a number (got {value!r})")
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
class LoadedSettings:
    settings: Settings
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


def load_settings_with_sources(
    path: Path | None,
    environ: Mapping[str, str],
    overrides: Mapping[str, Any] | None = None,
    *,
    discover: bool = True,
    cwd: Path | None = None,
) -> LoadedSettings:
    """Like :func:`load_settings`, and also report which file and source set each value."""
    names = [n for n, _ in SECTIONS]
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
        if not var.startswith(ENV_PREFIX) or var == ENV_CONFIG:
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
            known = [*ENV_ALIASES, ENV_CONFIG, *(f"{ENV_PREFIX}{n.upper()}__…" for n in names)]
            raise ConfigError(
                f"unknown environment variable {var}{_suggest(var, known)}"
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
        for name, cls in SECTIONS
    }
    return LoadedSettings(Settings(**built), config_file, types.MappingProxyType(sources))


def load_settings(
    path: Path | None,
    environ: Mapping[str, str],
    overrides: Mapping[str, Any] | None = None,
    *,
    discover: bool = True,
) -> Settings:
    """Build :class:`Settings` from defaults, the TOML file, ``environ`` and ``overrides``.

    ``path`` is the ``--config`` file (must exist); without it ``$ENVGRID_CONFIG`` or
    ``./envgrid.toml`` is used unless ``discover`` is false (tests: no stray files).
    Raises :class:`ConfigError` with a one-line, actionable message.
    """
    return load_settings_with_sources(path, environ, overrides, discover=discover).settings


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
    return any(word in lowered for word in _SECRET_WORDS)


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


def settings_as_dict(settings: Settings, *, redact: bool = True) -> dict[str, dict[str, Any]]:
    """``{section: {field: value}}`` with JSON/TOML-friendly values, secrets masked."""
    out: dict[str, dict[str, Any]] = {}
    for name, _cls in SECTIONS:
        section = getattr(settings, name)
        out[name] = {
            f.name: _present(f.name, getattr(section, f.name), redact)
            for f in dataclasses.fields(section)
        }
    return out
