"""deploy/Dockerfile and the compose files: services, health checks, volumes, and the
ENVGRID_* names and ports envgrid really uses.  Docker Hub is out of reach here, so the
image is not built; ``docker compose config`` (or docker-compose) runs when installed."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from envgrid.settings import load_settings
from ingest.settings import IngestSettings
from tests.conftest import REPO_ROOT
from web.settings import WebSettings

from .metric_catalogue import families

DEPLOY = REPO_ROOT / "deploy"
INGEST, WEB = IngestSettings(), WebSettings()


def compose(name: str) -> dict[str, Any]:
    document = yaml.safe_load((DEPLOY / name).read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of deploy/Dockerfile, continuation lines joined."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    logical = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    out = []
    for line in logical.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def instructions(name: str) -> list[str]:
    return [rest for word, rest in dockerfile() if word == name]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for rest in instructions("ENV"):
        for item in shlex.split(rest):
            key, _, value = item.partition("=")
            env[key] = value
    return env


def settings_from(environment: dict[str, str]) -> Any:
    """The settings envgrid builds from ``environment`` (compose's ${…} filled in)."""
    filled = {
        k: re.sub(r"\$\{[^}]+\}", "secret", str(v))
        for k, v in environment.items()
        if k.startswith("ENVGRID_")
    }
    return load_settings(None, filled, discover=False)


def published(ports: list[str]) -> dict[int, str]:
    """container port -> host address ("" = all interfaces)."""
    out = {}
    for spec in ports:
        parts = spec.split(":")
        out[int(parts[-1])] = parts[0] if len(parts) == 3 else ""
    return out


def test_dockerfile_slim_python_non_root_with_a_healthcheck() -> None:
    args = {k: v for k, v in (a.split("=", 1) for a in instructions("ARG"))}
    assert args["PYTHON_IMAGE"].startswith("python:3.11-slim")
    assert instructions("FROM")[-1] == "${PYTHON_IMAGE}"
    assert instructions("USER") == ["envgrid"]
    exposed = {int(p) for p in instructions("EXPOSE")[0].split()}
    assert exposed == {INGEST.port, WEB.port, INGEST.metrics_port}
    (check,) = instructions("HEALTHCHECK")
    assert f"/healthz' % os.environ.get('ENVGRID_WEB__PORT', '{WEB.port}')" in check
    assert instructions("ENTRYPOINT") == ['["envgrid"]']
    assert instructions("CMD")[-1] == '["serve"]'
    # The image's environment is valid envgrid configuration and opens the listeners
    # the EXPOSE line names on all interfaces.
    env = image_env()
    settings = settings_from(env)
    assert settings.web.host == "0.0.0.0" and settings.ingest.metrics_host == "0.0.0.0"
    assert str(settings.core.data_dir) == "/var/lib/envgrid"
    assert instructions("VOLUME") == ['["/var/lib/envgrid"]']


def test_compose_runs_envgrid_on_timescaledb() -> None:
    document = compose("compose.yaml")
    services = document["services"]
    assert set(services) == {"db", "envgrid", "backup"}
    db, app = services["db"], services["envgrid"]
    assert re.fullmatch(r"timescale/timescaledb:[\w.-]*pg15", db["image"])
    assert db["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert app["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert app["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}

    settings = settings_from(app["environment"])
    assert settings.database.dsn == "postgresql://envgrid:secret@db:5432/envgrid"
    assert settings.database.engine == "timescaledb"
    env = app["environment"]
    assert (db["environment"]["POSTGRES_USER"], db["environment"]["POSTGRES_DB"]) == (
        "envgrid",
        "envgrid",
    )
    assert "${ENVGRID_DB_PASSWORD" in db["environment"]["POSTGRES_PASSWORD"]
    assert "${ENVGRID_DB_PASSWORD}" in env["ENVGRID_DSN"]

    ports = published(app["ports"])
    assert ports == {INGEST.port: "", WEB.port: "127.0.0.1", INGEST.metrics_port: "127.0.0.1"}
    # The same probe as the image's HEALTHCHECK.
    image_check = json.loads(instructions("HEALTHCHECK")[0].split(" CMD ", 1)[1])
    assert app["healthcheck"]["test"] == ["CMD", *image_check]
    assert app["ulimits"]["nofile"] == {"soft": 65536, "hard": 65536}
    assert app["init"] is True


def test_compose_volumes_hold_data_database_and_backups() -> None:
    document = compose("compose.yaml")
    services = document["services"]
    assert set(document["volumes"]) == {"db-data", "envgrid-data", "backups"}
    app_settings = settings_from(services["envgrid"]["environment"])
    data_dir = str(app_settings.core.data_dir)
    assert str(app_settings.backup.dir) == "/backups"
    assert services["envgrid"]["volumes"] == [f"envgrid-data:{data_dir}", "backups:/backups"]
    assert services["db"]["volumes"] == ["db-data:/var/lib/postgresql/data"]
    # the backup profile: `envgrid backup create` of the same image, database and data
    # directory (read only) into the same backups volume the dashboard lists
    backup = services["backup"]
    assert backup["profiles"] == ["backup"]
    assert backup["image"] == services["envgrid"]["image"]
    assert backup["command"] == ["backup", "create"] and "entrypoint" not in backup
    assert backup["volumes"] == [f"envgrid-data:{data_dir}:ro", "backups:/backups"]
    assert backup["depends_on"] == {"db": {"condition": "service_healthy"}}
    backup_settings = settings_from(backup["environment"])
    assert backup_settings.database.dsn == app_settings.database.dsn
    assert backup_settings.backup.dir == app_settings.backup.dir
    assert backup_settings.core.data_dir == app_settings.core.data_dir
    # the image has pg_dump of the database's major version, and the volume's mount point
    # belongs to the envgrid user (a new named volume takes its owner from the image)
    run = " ".join(arg for op, arg in dockerfile() if op == "RUN")
    assert "postgresql-client-15" in run
    assert "install -d -o envgrid -g envgrid -m 0700 /backups" in run


def test_compose_postgres_overrides_the_database_only() -> None:
    override = compose("compose.postgres.yaml")["services"]
    assert override["db"] == {"image": "postgres:15"}
    base = compose("compose.yaml")["services"]
    for name in ("envgrid", "backup"):
        merged = {**base[name]["environment"], **override[name]["environment"]}
        assert settings_from(merged).database.engine == "postgres", name


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False, timeout=30
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


@pytest.mark.skipif(_compose_command() is None, reason="neither docker compose nor docker-compose")
@pytest.mark.parametrize("files", [["compose.yaml"], ["compose.yaml", "compose.postgres.yaml"]])
def test_compose_config_validates(files: list[str]) -> None:
    command = _compose_command()
    assert command is not None
    args = [*command, *(a for f in files for a in ("-f", f)), "config", "--quiet"]
    done = subprocess.run(
        args,
        cwd=DEPLOY,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "ENVGRID_DB_PASSWORD": "0123abcd"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    for entry in (".git", ".venv", "var", "envgrid.toml", "web/frontend/node_modules"):
        assert entry in ignored
    for needed in ("pyproject.toml", "constraints.txt", "README.md", "envgrid", "web"):
        assert needed not in ignored
    assert Path(REPO_ROOT / "deploy" / "Dockerfile").is_file()


def test_operations_guide_is_linked_and_names_real_metrics() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "[docs/operations.md](docs/operations.md)" in readme
    guide = (REPO_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    guide = guide[guide.index("## 6. What to monitor") :]  # not the role envgrid_audit …
    exported = set(families())  # every process's families (metric_catalogue)
    named = set(re.findall(r"`(envgrid_[a-z_]+?)(?:_total)?(?:\{[a-z_,=\"-]+\})?`", guide))
    assert named and named <= exported, named - exported
    assert exported <= named, f"not described in docs/operations.md: {exported - named}"
