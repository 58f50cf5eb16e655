"""``envgrid config example`` and ``envgrid config check`` as an operator runs them."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path

from envgrid.config_check import locate
from envgrid.settings import SECTIONS
from tests.store.test_cli import envgrid


def test_example_round_trips_through_config_show(tmp_path: Path) -> None:
    example = envgrid("config", "example", cwd=tmp_path)
    assert example.returncode == 0, example.stderr
    config = tmp_path / "envgrid.example.toml"
    config.write_text(example.stdout, encoding="utf-8")

    shown = envgrid("--config", str(config), "config", "show", "--format", "json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    defaults = envgrid("config", "show", "--format", "json", cwd=tmp_path)
    assert defaults.returncode == 0, defaults.stderr
    assert json.loads(shown.stdout) == json.loads(defaults.stdout)

    with_sources = envgrid(
        "--config", str(config), "config", "show", "--format", "json", "--sources", cwd=tmp_path
    )
    sources = json.loads(with_sources.stdout)["sources"]
    written = tomllib.loads(example.stdout)
    for section, table in written.items():
        for key in table:
            assert sources[f"{section}.{key}"].startswith("config file"), (section, key)

    checked = envgrid("config", "check", str(config), cwd=tmp_path)
    assert (checked.returncode, checked.stdout.strip()) == (0, f"{config}: OK")


def test_example_names_every_setting_with_its_meaning(tmp_path: Path) -> None:
    text = envgrid("config", "example", cwd=tmp_path).stdout
    lines = text.splitlines()
    for name, cls in SECTIONS:
        assert f"[{name}]" in lines
        start = lines.index(f"[{name}]")
        assert lines[start - 2].startswith("# "), f"[{name}] has no description"
        for fld in dataclasses.fields(cls):
            if fld.init:
                assert any(
                    line.startswith((f"{fld.name} = ", f"# {fld.name} = ")) for line in lines
                ), f"{name}.{fld.name} missing"
    # A documented setting carries its ``#:`` comment, a choice its values, an unset one
    # is commented out (TOML has no null).
    at = lines.index("trusted_proxies = []")
    assert "X-Forwarded-For" in "\n".join(lines[at - 3 : at])
    assert lines[lines.index('log_format = "text"') - 1] == '# one of: "text", "json"'
    assert "# dsn =  (unset by default)" in lines


BAD = """\
[core]
log_level = "INFO"

[ingest]
host = "0.0.0.0"
port = 99999

[database]
porl_max = 1

[wbe]
x = 1
"""


def test_check_reports_each_bad_value_at_its_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(BAD, encoding="utf-8")
    done = envgrid("config", "check", str(config), cwd=tmp_path)
    assert done.returncode == 2
    errors = done.stderr.splitlines()
    assert errors[0].startswith(f"{config}:6: ingest.port must be 1..65535")
    assert errors[1] == f"{config}:9: unknown setting database.porl_max; did you mean 'pool_max'?"
    assert errors[2].startswith(f"{config}:11: unknown section [wbe]; did you mean 'web'?")
    assert done.stdout == ""


def test_check_reports_a_section_wide_error_at_the_offending_key(tmp_path: Path) -> None:
    config = tmp_path / "pool.toml"
    config.write_text("[database]\npool_min = 20\n\npool_max = 10\n", encoding="utf-8")
    done = envgrid("config", "check", str(config), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"{config}:2: database.pool_min (20) must not exceed")


def test_check_gives_the_parser_line_and_column_of_a_syntax_error(tmp_path: Path) -> None:
    config = tmp_path / "syntax.toml"
    config.write_text("[core]\ntimezone = 'UTC'\nlog_level = \n", encoding="utf-8")
    done = envgrid("config", "check", str(config), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"{config}:3:13: invalid TOML: ")


def test_check_ignores_the_environment_and_a_missing_file_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "ok.toml"
    config.write_text("[web]\nport = 8081\n", encoding="utf-8")
    done = envgrid("config", "check", str(config), env={"ENVGRID_WEB__PORT": "nope"}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    missing = envgrid("config", "check", str(tmp_path / "nope.toml"), cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"{tmp_path / 'nope.toml'}:1: cannot read the file")


def test_locate_finds_sub_tables_dotted_keys_and_quoted_keys() -> None:
    text = (
        "ingest.port = 1\n"
        "[database]\n"
        '"pool_max" = 3\n'
        "[database.embedded_tuning]\n"
        "work_mem = '64MB'\n"
        "[ alerts ]\n"
    )
    assert locate(text, "ingest", "port") == 1
    assert locate(text, "ingest") == 1
    assert locate(text, "database", "pool_max") == 3
    assert locate(text, "database", "embedded_tuning") == 4
    assert locate(text, "alerts") == 6
    assert locate(text, "web", "port") == 1
