"""``envgrid install-systemd`` and deploy/systemd/: the unit verifies with systemd's own
checker, carries the hardening the operations guide promises, and its environment file
names only settings envgrid knows."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from envgrid.settings import load_settings
from envgrid.systemd import env_text, unit_text
from tests.conftest import REPO_ROOT
from tests.store.test_cli import envgrid

DEPLOY = REPO_ROOT / "deploy" / "systemd"


def unit_keys(text: str) -> dict[str, dict[str, list[str]]]:
    """``{section: {key: [values]}}`` of a unit file (keys may repeat)."""
    out: dict[str, dict[str, list[str]]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            out[section] = {}
            continue
        key, _, value = line.partition("=")
        out[section].setdefault(key, []).append(value)
    return out


def env_assignments(text: str, *, uncomment: bool = False) -> dict[str, str]:
    out = {}
    for raw in text.splitlines():
        line = raw[1:] if uncomment and raw.startswith("#ENVGRID_") else raw
        if line.startswith("ENVGRID_"):
            key, _, value = line.partition("=")
            out[key] = value
    return out


def test_install_writes_the_unit_and_env_file_and_nothing_else(tmp_path: Path) -> None:
    root = tmp_path / "root"
    done = envgrid("install-systemd", "--root", str(root), "--stations", "100000", "--workers", "1")
    assert done.returncode == 0, done.stderr
    written = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert written == ["etc/envgrid/envgrid.env", "etc/systemd/system/envgrid.service"]
    env_file = root / "etc/envgrid/envgrid.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o640  # it will hold the DSN password
    service = unit_keys((root / "etc/systemd/system/envgrid.service").read_text())["Service"]
    assert service["LimitNOFILE"] == ["126024"]  # 100,000 × 1.25 + 1024 on one worker
    assert service["ExecStart"] == [f"{Path(sys.executable).parent / 'envgrid'} serve"]
    assert "useradd --system" in done.stdout

    again = envgrid("install-systemd", "--root", str(root))
    assert again.returncode == 2 and "--force overwrites" in again.stderr
    forced = envgrid("install-systemd", "--root", str(root), "--force")
    assert forced.returncode == 0, forced.stderr
    service = unit_keys((root / "etc/systemd/system/envgrid.service").read_text())["Service"]
    assert service["LimitNOFILE"] == ["65536"]


def test_the_unit_runs_serve_as_its_user_hardened() -> None:
    keys = unit_keys((DEPLOY / "envgrid.service").read_text())
    service = keys["Service"]
    expected = {
        "Type": ["notify"],
        "WatchdogSec": ["30s"],
        "User": ["envgrid"],
        "Group": ["envgrid"],
        "ExecStart": ["/opt/envgrid/venv/bin/envgrid serve"],
        "EnvironmentFile": ["/etc/envgrid/envgrid.env"],
        "KillMode": ["mixed"],
        "NoNewPrivileges": ["yes"],
        "ProtectSystem": ["strict"],
        "ReadWritePaths": ["/var/lib/envgrid"],
        "PrivateTmp": ["yes"],
        "ProtectHome": ["yes"],
        "RestrictAddressFamilies": ["AF_INET AF_INET6 AF_UNIX"],
        "LimitNOFILE": ["65536"],
    }
    assert {k: service.get(k) for k in expected} == expected
    # The supervisor's own graceful stop (30 s) fits inside systemd's.
    assert int(service["TimeoutStopSec"][0]) > 30
    assert keys["Install"]["WantedBy"] == ["multi-user.target"]


def test_deploy_files_are_the_default_rendering() -> None:
    """deploy/systemd/ is what ``install-systemd`` writes with the defaults: no drift."""
    assert (DEPLOY / "envgrid.service").read_text() == unit_text()
    assert (DEPLOY / "envgrid.env").read_text() == env_text()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    # verify insists that ExecStart exists: point it at this checkout's envgrid.
    unit = tmp_path / "envgrid.service"
    unit.write_text(unit_text(exec_start=str(Path(sys.executable).parent / "envgrid")))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")

    # ... and it does see a mistyped key (unknown keys are only warnings, rc 0).
    unit.write_text(unit.read_text().replace("NoNewPrivileges=", "NoNewPrivilegs="))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert "Unknown key 'NoNewPrivilegs'" in done.stderr


def test_the_env_file_names_only_settings_envgrid_reads() -> None:
    text = (DEPLOY / "envgrid.env").read_text()
    active = env_assignments(text)
    assert active["ENVGRID_DATA_DIR"] == "/var/lib/envgrid"
    settings = load_settings(None, active, discover=False)
    assert str(settings.core.data_dir) == "/var/lib/envgrid"
    # The commented examples are valid too, once uncommented (ENVGRID_CONFIG aside: the
    # file it names must exist).
    every = env_assignments(text, uncomment=True)
    every.pop("ENVGRID_CONFIG")
    settings = load_settings(None, every, discover=False)
    assert settings.database.dsn is not None
    assert settings.web.trusted_proxies == ("127.0.0.1",)
