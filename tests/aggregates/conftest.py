"""Fixtures for the AQI / AQCI / validity tests: the vectors file and the shipped tables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aggregates.standards import AqciTable, AqiTable, StandardRegistry, load_standards

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTORS_PATH = REPO_ROOT / "tests" / "data" / "standards" / "aqi_vectors_2012.json"
VECTORS_2026_PATH = VECTORS_PATH.with_name("aqi_vectors_2026.json")


def load_vectors(path: Path = VECTORS_PATH) -> dict[str, Any]:
    """Checked vectors (the 2012 ones by default); numbers parsed exactly (floats as Decimal)."""
    with path.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh, parse_float=Decimal)
    return data


VECTORS = load_vectors()
VECTORS_2026 = load_vectors(VECTORS_2026_PATH)


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    return VECTORS


@pytest.fixture(scope="session")
def registry() -> StandardRegistry:
    return load_standards()


@pytest.fixture(scope="session")
def t2012(registry: StandardRegistry) -> AqiTable:
    return registry.aqi_table(date(2020, 1, 1))


@pytest.fixture(scope="session")
def t2026(registry: StandardRegistry) -> AqiTable:
    return registry.aqi_table(date(2026, 3, 1))


@pytest.fixture(scope="session")
def aqci2018(registry: StandardRegistry) -> AqciTable:
    return registry.aqci(date(2020, 1, 1))


def run_cli(command: str, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m envgrid <command> <args>`` with ``stdin``; text output."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "envgrid", command, *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=REPO_ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def to_json_text(obj: object) -> str:
    """JSON text that keeps Decimal values exact (written as JSON numbers, e.g. 2.2)."""
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{to_json_text(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list | tuple):
        return "[" + ",".join(to_json_text(v) for v in obj) + "]"
    return json.dumps(obj, ensure_ascii=False)
