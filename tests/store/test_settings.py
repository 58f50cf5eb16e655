"""Settings: coercion, precedence, file discovery, errors, masking (no database needed)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

from envgrid.settings import SECTIONS, Settings, load_settings, load_settings_with_sources
from store.config import build_section, coerce, mask_dsn, parse_assignments, settings_as_dict
from store.settings import CoreSettings, DatabaseSettings
from store.validation import ConfigError, require

# --------------------------------------------------------------------------
# coerce(): one table of good values, one of bad ones
# --------------------------------------------------------------------------

COERCE_OK: list[tuple[Any, Any, Any]] = [
    ("2121", int, 2121),
    (2121, int, 2121),
    (" 7 ", int, 7),
    ("1.5", float, 1.5),
    (2, float, 2.0),
    ("true", bool, True),
    ("TRUE", bool, True),
    ("1", bool, True),
    ("yes", bool, True),
    ("on", bool, True),
    ("false", bool, False),
    ("0", bool, False),
    ("no", bool, False),
    ("off", bool, False),
    (False, bool, False),
    ("x", str, "x"),
    ("var/data", Path, Path("var/data")),
    ("", str | None, None),
    (None, str | None, None),
    ("postgresql://h/db", str | None, "postgresql://h/db"),
    ("", Path | None, None),
    ("/opt/pg/bin", Path | None, Path("/opt/pg/bin")),
    ("a, b,,c ", tuple[str, ...], ("a", "b", "c")),
    (["a", "b"], tuple[str, ...], ("a", "b")),
    ("", tuple[str, ...], ()),
    ("1,2", tuple[int, ...], (1, 2)),
    ([3, 4], tuple[int, ...], (3, 4)),
    (
        {"work_mem": "64MB", "max_connections": 300, "jit": False},
        dict[str, str],
        {"work_mem": "64MB", "max_connections": "300", "jit": "false"},
    ),
    ("fsync=off, work_mem=64MB", dict[str, str], {"fsync": "off", "work_mem": "64MB"}),
    ('{"shared_preload_libraries": "a,b"}', dict[str, str], {"shared_preload_libraries": "a,b"}),
    ("json", Literal["text", "json"], "json"),
]


@pytest.mark.parametrize(("raw", "annotation", "expected"), COERCE_OK)
def test_coerce_accepts(raw: Any, annotation: Any, expected: Any) -> None:
    assert coerce(raw, annotation, name="s.k") == expected


COERCE_BAD: list[tuple[Any, Any, str]] = [
    ("abc", int, "s.k must be an integer (got 'abc')"),
    (True, int, "s.k must be an integer"),
    (1.5, int, "s.k must be an integer"),
    ("fast", float, "s.k must be a number"),
    ("maybe", bool, "s.k must be true or false (got 'maybe')"),
    (1, bool, "must be true or false"),
    (5, str, "s.k must be a string (got 5); quote it in TOML"),
    (5, Path, "must be a path string"),
    ("jsn", Literal["text", "json"], "did you mean 'json'?"),
    ([1, "x"], tuple[int, ...], "s.k[1] must be an integer"),
    (7, tuple[str, ...], "s.k must be a list"),
    ("fsync", dict[str, str], "'key=value,key2=value2' or a JSON object"),
    ("{not json", dict[str, str], "invalid JSON object"),
    (None, int, "s.k must be set"),
]


@pytest.mark.parametrize(("raw", "annotation", "message"), COERCE_BAD)
def test_coerce_rejects(raw: Any, annotation: Any, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        coerce(raw, annotation, name="s.k")
    assert message in str(err.value)


# --------------------------------------------------------------------------
# build_section(): the generic machinery, with a section like the ones to come
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IngestLike:
    port: int = 2121
    workers: int = 2
    allowed: tuple[str, ...] = ()
    ports: tuple[int, ...] = (2121,)
    labels: dict[str, str] = field(default_factory=dict)
    spool_dir: Path | None = None
    mode: Literal["after-commit", "after-parse"] = "after-commit"
    api_token: str = ""

    def __post_init__(self) -> None:
        require(self.workers >= 1, f"ingest.workers must be ≥ 1 (got {self.workers})")


def test_build_section_layers_and_types() -> None:
    sources: dict[str, str] = {}
    section = build_section(
        IngestLike,
        {"port": 3000, "allowed": ["10.0.0.1"], "labels": {"site": "a"}},
        {
            "ENVGRID_INGEST__PORT": "4000",
            "ENVGRID_INGEST__PORTS": "1,2",
            "ENVGRID_INGEST__SPOOL_DIR": "/var/spool/envgrid",
            "ENVGRID_OTHER__PORT": "9",
        },
        "ENVGRID_INGEST__",
        overrides={"workers": "8"},
        sources=sources,
    )
    assert section == IngestLike(
        port=4000,
        workers=8,
        allowed=("10.0.0.1",),
        ports=(1, 2),
        labels={"site": "a"},
        spool_dir=Path("/var/spool/envgrid"),
    )
    assert sources["ingest.port"] == "environment ENVGRID_INGEST__PORT"
    assert sources["ingest.workers"] == "command line"
    assert sources["ingest.allowed"] == "config file"
    assert sources["ingest.mode"] == "default"


@pytest.mark.parametrize(
    ("table", "env", "message"),
    [
        ({"workers": 0}, {}, "ingest.workers must be ≥ 1 (got 0) (from config file)"),
        ({}, {"ENVGRID_INGEST__WORKERS": "0"}, "(from environment ENVGRID_INGEST__WORKERS)"),
        ({"wokers": 3}, {}, "unknown setting ingest.wokers (from config file); did you mean"),
        ({}, {"ENVGRID_INGEST__PROT": "1"}, "did you mean 'port'?"),
        ({"zzz": 1}, {}, "unknown setting ingest.zzz (from config file). Valid keys: port,"),
        ({"port": "abc"}, {}, "ingest.port must be an integer (got 'abc') (from config file)"),
        ({"mode": "after-pars"}, {}, "did you mean 'after-parse'?"),
    ],
)
def test_build_section_errors(table: dict[str, Any], env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_section(IngestLike, table, env, "ENVGRID_INGEST__")
    assert message in str(err.value)


# --------------------------------------------------------------------------
# load_settings(): precedence defaults < file < env (+ aliases) < overrides
# --------------------------------------------------------------------------


def _write(tmp_path: Path, text: str, name: str = "envgrid.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("file_value", "env", "override", "expected", "source"),
    [
        (None, {}, None, 10, "default"),
        (20, {}, None, 20, "config file"),
        (
            20,
            {"ENVGRID_DATABASE__POOL_MAX": "30"},
            None,
            30,
            "environment ENVGRID_DATABASE__POOL_MAX",
        ),
        (20, {"ENVGRID_DATABASE__POOL_MAX": "30"}, 40, 40, "command line"),
        (None, {}, "50", 50, "command line"),
    ],
)
def test_precedence(
    tmp_path: Path,
    file_value: int | None,
    env: dict[str, str],
    override: Any,
    expected: int,
    source: str,
) -> None:
    path = _write(tmp_path, f"[database]\npool_max = {file_value}\n" if file_value else "")
    overrides = {"database.pool_max": override} if override is not None else {}
    loaded = load_settings_with_sources(path, env, overrides)
    assert loaded.settings.database.pool_max == expected
    assert loaded.sources["database.pool_max"].startswith(source)
    assert loaded.config_file == path


def test_aliases_and_full_names(tmp_path: Path) -> None:
    env = {"ENVGRID_DSN": "postgresql://u:pw@db:5432/x", "ENVGRID_DATA_DIR": "/srv/envgrid"}
    loaded = load_settings_with_sources(None, env, discover=False)
    assert loaded.settings.database.dsn == "postgresql://u:pw@db:5432/x"
    assert loaded.settings.core.data_dir == Path("/srv/envgrid")
    assert loaded.settings.core.pg_dir == Path("/srv/envgrid/pg")
    assert loaded.sources["database.dsn"] == "environment ENVGRID_DSN"
    # the command line beats the alias
    settings = load_settings(None, env, {"database.dsn": "postgresql://other/db"}, discover=False)
    assert settings.database.dsn == "postgresql://other/db"
    # the same value under both names is fine; different values are ambiguous
    same = {**env, "ENVGRID_DATABASE__DSN": env["ENVGRID_DSN"]}
    assert load_settings(None, same, discover=False).database.dsn == env["ENVGRID_DSN"]
    with pytest.raises(ConfigError, match="both ENVGRID_DSN and ENVGRID_DATABASE__DSN"):
        load_settings(None, {**env, "ENVGRID_DATABASE__DSN": "postgresql://x/y"}, discover=False)


def test_full_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        [core]
        data_dir = "/data/envgrid"
        timezone = "UTC"
        log_level = "debug"
        log_format = "json"

        [database]
        embedded_port = 6543
        embedded_tuning = { work_mem = "64MB", max_connections = 300 }
        statement_timeout_ms = 0
        migrate_on_start = false
        """,
    )
    settings = load_settings(path, {})
    assert settings.core == CoreSettings(Path("/data/envgrid"), "UTC", "DEBUG", "json")
    assert settings.database.embedded_port == 6543
    assert settings.database.embedded_tuning == {"work_mem": "64MB", "max_connections": "300"}
    assert settings.database.statement_timeout_ms == 0
    assert settings.database.migrate_on_start is False


def test_defaults() -> None:
    settings = load_settings(None, {}, discover=False)
    assert settings == Settings()
    assert settings.core.data_dir == Path("var")
    assert settings.core.timezone == "Asia/Shanghai"
    assert settings.database.dsn is None
    assert (settings.database.embedded_host, settings.database.embedded_port) == (
        "127.0.0.1",
        55432,
    )
    assert [name for name, _ in SECTIONS][:2] == ["core", "database"]
    assert dict(SECTIONS)["database"] is DatabaseSettings


# --------------------------------------------------------------------------
# Which file is read
# --------------------------------------------------------------------------


def test_the_no_extensions_switch_is_not_a_setting() -> None:
    env = {"ENVGRID_NO_EXTENSIONS": "1", "ENVGRID_DSN": "postgresql://u@db/x"}
    assert load_settings(None, env, discover=False).database.dsn == "postgresql://u@db/x"
    with pytest.raises(ConfigError, match="did you mean 'ENVGRID_NO_EXTENSIONS'"):
        load_settings(None, {"ENVGRID_NO_EXTENSION": "1"}, discover=False)


def test_config_file_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = _write(tmp_path, "[core]\ntimezone = 'UTC'\n")
    other = _write(tmp_path, "[core]\ntimezone = 'Asia/Tokyo'\n", "other.toml")
    third = _write(tmp_path, "[core]\ntimezone = 'Europe/Paris'\n", "third.toml")
    monkeypatch.chdir(tmp_path)
    assert load_settings(None, {}).core.timezone == "UTC"  # ./envgrid.toml
    assert load_settings(None, {}, discover=False).core.timezone == "Asia/Shanghai"
    env = {"ENVGRID_CONFIG": str(other)}
    assert load_settings(None, env).core.timezone == "Asia/Tokyo"  # $ENVGRID_CONFIG
    assert load_settings(third, env).core.timezone == "Europe/Paris"  # --config wins
    assert load_settings_with_sources(None, {}).config_file == Path.cwd() / local.name


@pytest.mark.parametrize(
    ("path", "env", "message"),
    [
        (
            "missing.toml",
            {},
            "configuration file {tmp}/missing.toml (from --config) does not exist",
        ),
        (None, {"ENVGRID_CONFIG": "{tmp}/gone.toml"}, "(from ENVGRID_CONFIG) does not exist"),
    ],
)
def test_missing_explicit_file(
    tmp_path: Path, path: str | None, env: dict[str, str], message: str
) -> None:
    env = {k: v.format(tmp=tmp_path) for k, v in env.items()}
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / path if path else None, env)
    assert message.format(tmp=tmp_path) in str(err.value)


# --------------------------------------------------------------------------
# Errors: one line, says what to change
# --------------------------------------------------------------------------

LOAD_ERRORS: list[tuple[str, dict[str, str], dict[str, Any], str]] = [
    (
        "[databse]\ndsn = 'postgresql://h/d'\n",
        {},
        {},
        "unknown section [databse]; did you mean 'database'?",
    ),
    (
        "[core]\ndata_dri = 'x'\n",
        {},
        {},
        "unknown setting core.data_dri (from config file {file}); did you mean 'data_dir'?",
    ),
    ("core = 3\n", {}, {}, "'core' must be a table ([core])"),
    ("[core\n", {}, {}, "invalid TOML"),
    (
        "",
        {"ENVGRID_DATABSE__DSN": "x"},
        {},
        "ENVGRID_DATABSE__DSN: unknown section 'databse'; did you mean 'database'?",
    ),
    (
        "",
        {"ENVGRID_DNS": "x"},
        {},
        "unknown environment variable ENVGRID_DNS; did you mean 'ENVGRID_DSN'?",
    ),
    (
        "",
        {"ENVGRID_CORE__TIMEZONE": "Asia/Shangai"},
        {},
        "core.timezone 'Asia/Shangai' is not a known IANA time zone; did you mean 'Asia/Shanghai'?",
    ),
    ("", {"ENVGRID_CORE__LOG_LEVEL": "loud"}, {}, "core.log_level must be one of DEBUG, INFO"),
    ("", {"ENVGRID_CORE__LOG_FORMAT": "xml"}, {}, "core.log_format must be one of 'text', 'json'"),
    ("", {}, {"database.pool_max": 0}, "database.pool_max must be ≥ 1 (got 0) (from command line)"),
    (
        "[database]\npool_min = 5\n",
        {"ENVGRID_DATABASE__POOL_MAX": "3"},
        {},
        "database.pool_min (5) must not exceed database.pool_max (3)",
    ),
    (
        "",
        {},
        {"database.dsn": "mysql://root:hunter2@h/db"},
        "database.dsn must be a URL like postgresql://",
    ),
    (
        "",
        {},
        {"database.embedded_host": "0.0.0.0"},
        "database.embedded_host must be a loopback address",
    ),
    (
        "",
        {},
        {"database.embedded_port": 70000},
        "database.embedded_port must be between 1 and 65535 (got 70000)",
    ),
    ("", {}, {"database": "x"}, "command line: 'database' must be 'section.key'"),
    (
        "",
        {},
        {"datbase.dsn": "x"},
        "unknown section 'datbase' in 'datbase.dsn'; did you mean 'database'?",
    ),
]


@pytest.mark.parametrize(("toml", "env", "overrides", "message"), LOAD_ERRORS)
def test_load_errors(
    tmp_path: Path, toml: str, env: dict[str, str], overrides: dict[str, Any], message: str
) -> None:
    path = _write(tmp_path, toml)
    with pytest.raises(ConfigError) as err:
        load_settings(path, env, overrides)
    text = str(err.value)
    assert message.format(file=path) in text
    assert "\n" not in text
    assert "hunter2" not in text


def test_parse_assignments() -> None:
    assert parse_assignments(["a.b=1", "c.d=x=y", "e.f="]) == {"a.b": "1", "c.d": "x=y", "e.f": ""}
    with pytest.raises(ConfigError, match=r"SECTION\.KEY=VALUE"):
        parse_assignments(["nope"])


# --------------------------------------------------------------------------
# Presentation: secrets masked
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dsn", "masked"),
    [
        (
            "postgresql://envgrid@127.0.0.1:55432/envgrid",
            "postgresql://envgrid@127.0.0.1:55432/envgrid",
        ),
        ("postgresql://u:s3cret@db:5432/x", "postgresql://u:***@db:5432/x"),
        (
            "postgresql://u:p%40ss@db/x?sslmode=require&password=p",
            "postgresql://u:***@db/x?sslmode=require&password=***",
        ),
        ("postgresql://db/x", "postgresql://db/x"),
    ],
)
def test_mask_dsn(dsn: str, masked: str) -> None:
    assert mask_dsn(dsn) == masked


@dataclass(frozen=True, slots=True)
class _Notify:
    smtp_password: str = ""
    webhook_token: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def test_settings_as_dict_masks_secrets() -> None:
    settings = load_settings(None, {}, {"database.dsn": "postgresql://u:pw@h/d"}, discover=False)
    values = settings_as_dict(settings)
    assert values["database"]["dsn"] == "postgresql://u:***@h/d"
    assert values["core"]["data_dir"] == "var"
    assert settings_as_dict(settings, redact=False)["database"]["dsn"].endswith("u:pw@h/d")

    # any root, any section: fields named like secrets are masked when set
    @dataclass(frozen=True, slots=True)
    class Root:
        notify: _Notify

    root: Any = Root(_Notify("pw", None, {"X-Api-Token": "abc", "Accept": "json"}))
    out = settings_as_dict(root)["notify"]
    assert out == {
        "smtp_password": "***",
        "webhook_token": None,
        "headers": {"X-Api-Token": "***", "Accept": "json"},
    }


def test_sections_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.core.timezone = "UTC"  # type: ignore[misc]
