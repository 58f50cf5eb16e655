"""``envgrid serve`` with the dashboard, as an operator's tools see it: ``/healthz`` and
``/readyz`` (database and the HJ 212 listener of the ingest workers) on the dashboard port,
and the web process's metrics summed into the supervisor's ``/metrics`` (loopback)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ..conftest import free_port

pytestmark = pytest.mark.slow


def _get(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"} if data is not None else {}
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _samples(body: bytes) -> dict[str, list[Any]]:
    return {f.name: f.samples for f in text_string_to_metric_families(body.decode())}


def test_serve_probes_and_web_metrics(pg_reachable_tmp: Path) -> None:
    port, metrics, web_port, pg_port = free_port(), free_port(), free_port(), free_port()
    env = {**os.environ, "ENVGRID_DATA_DIR": str(pg_reachable_tmp / "var"),
           "ENVGRID_INGEST__PORT": str(port), "ENVGRID_INGEST__METRICS_PORT": str(metrics),
           "ENVGRID_WEB__PORT": str(web_port), "ENVGRID_DATABASE__EMBEDDED_PORT": str(pg_port),
           "ENVGRID_INGEST__WORKERS": "1"}
    env.pop("ENVGRID_DSN", None)
    server = subprocess.Popen([sys.executable, "-m", "envgrid", "serve", "--no-alerts"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    web = f"http://127.0.0.1:{web_port}"
    try:
        assert server.stdout is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if server.stdout.readline().startswith("Stop with Ctrl-C"):
                break
        while time.monotonic() < deadline:  # the web process may still be starting
            try:
                status, body = _get(f"{web}/healthz")
                break
            except OSError:
                time.sleep(0.2)
        assert status == 200 and json.loads(body) == {"status": "ok"}
        status, body = _get(f"{web}/readyz")
        assert status == 200, body
        assert json.loads(body) == {
            "status": "ok",
            "checks": {"database": "ok", "ingest": "ok"},
            "roles": ["ingest", "web"],  # --no-alerts drops the alerts role
        }
        refused = json.dumps({"username": "nobody", "password": "wrong-password"}).encode()
        assert _get(f"{web}/api/v1/auth/login", refused)[0] == 401
        assert _get(f"{web}/api/v1/stations")[0] == 401
        assert _get(f"{web}/metrics")[0] == 404  # not on the dashboard's port

        time.sleep(2.5)  # the gauges are sampled once a second
        status, body = _get(f"http://127.0.0.1:{metrics}/metrics")
        assert status == 200
        families = _samples(body)
        requests = {
            (s.labels["route"], s.labels["method"], s.labels["status"]): s.value
            for s in families["envgrid_web_requests"]
            if s.name == "envgrid_web_requests_total"
        }
        assert requests[("/readyz", "GET", "200")] >= 1
        assert requests[("/api/v1/auth/login", "POST", "401")] == 1
        assert requests[("/api/v1/stations", "GET", "401")] == 1
        assert any(s.name == "envgrid_web_request_seconds_bucket" and s.labels["route"] == "/healthz"
                   for s in families["envgrid_web_request_seconds"])
        failures = [s for s in families["envgrid_web_login_failures"]
                    if s.name == "envgrid_web_login_failures_total"]
        assert [(s.labels["reason"], s.value) for s in failures] == [("bad_credentials", 1.0)]
        assert families["envgrid_web_sse_clients"][0].value == 0
        assert families["envgrid_web_db_pool_connections"][0].value >= 1
        assert families["envgrid_web_db_pool_max"][0].value >= 1
        assert "envgrid_web_db_pool_idle" in families
        assert "envgrid_frames" in families or "envgrid_connections" in families  # ingest's
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            out, _ = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            out, _ = server.communicate()
    assert server.returncode == 0, out[-3000:]
