"""``envgrid serve`` with every process (ingest, web, alert engine and scheduler), as an
operator's tools see it: ``/healthz`` and ``/readyz`` (database and the HJ 212 listener of
the ingest workers) on the dashboard port; every metric family of every process summed
into the supervisor's ``/metrics`` (loopback); and systemd's view through a real
``NOTIFY_SOCKET``: ``READY=1``, watchdog pings, ``STOPPING=1``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from protocol import encode_upload
from store.metrics import POOL_ROLES
from tests.envgrid.metric_catalogue import families as exported_families
from tests.ingest.test_serve import envgrid, send_and_ack

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


class Systemd:
    """The receiving end of NOTIFY_SOCKET (abstract namespace), as systemd has it: it
    reads every datagram as it comes (a thread)."""

    def __init__(self) -> None:
        self.address = f"@envgrid-test-{uuid.uuid4().hex}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.address[1:])
        self.sock.settimeout(0.2)
        self.seen: list[str] = []
        #: every line ever received (``seen`` is cleared by the tests)
        self.log: list[str] = []
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                lines = self.sock.recv(4096).decode("utf-8").split("\n")
                self.seen += lines
                self.log += lines
            except TimeoutError:
                continue

    def wait_for(self, line: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while line not in self.seen:
            assert time.monotonic() < deadline, f"no {line} from envgrid serve: {self.seen}"
            time.sleep(0.05)

    def close(self) -> None:
        self._stop.set()
        self._reader.join(5)
        self.sock.close()


def _families(metrics: int) -> dict[str, list[Any]]:
    status, body = _get(f"http://127.0.0.1:{metrics}/metrics")
    assert status == 200
    return _samples(body)


def _feed_ingest(port: int, env: dict[str, str]) -> None:
    """A frame of each kind the ingest counts: accepted (and flagged: the station is
    registered as HJ 212-2005 and sends 2017), and rejected."""
    mn = "SERVE00000000000000002"
    added = envgrid(
        "station", "add", mn, "--password", "123456", "--st", "22", "--edition", "2005", env=env
    )
    assert added.returncode == 0, added.stderr
    frame = encode_upload(
        2011,
        st="22",
        mn=mn,
        pw="123456",
        qn="20261121100000001",
        data_time="20261121100000",
        values={"a21026": {"Rtd": "8.0", "Flag": "N"}},
    )
    assert asyncio.run(send_and_ack(port, frame)).cn == 9014
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"##0010not-hj-212\r\n")


def test_serve_probes_metrics_of_every_process_and_the_watchdog(pg_reachable_tmp: Path) -> None:
    port, metrics, web_port, pg_port = free_port(), free_port(), free_port(), free_port()
    systemd = Systemd()
    env = {
        **os.environ,
        "ENVGRID_DATA_DIR": str(pg_reachable_tmp / "var"),
        "ENVGRID_INGEST__PORT": str(port),
        "ENVGRID_INGEST__METRICS_PORT": str(metrics),
        "ENVGRID_WEB__PORT": str(web_port),
        "ENVGRID_DATABASE__EMBEDDED_PORT": str(pg_port),
        "ENVGRID_INGEST__WORKERS": "1",
        "NOTIFY_SOCKET": systemd.address,
        "WATCHDOG_USEC": "1000000",
    }
    env.pop("ENVGRID_DSN", None)
    env.pop("WATCHDOG_PID", None)
    log = pg_reachable_tmp / "serve.log"  # a file: a pipe nobody reads would fill up
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "envgrid", "serve"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    web = f"http://127.0.0.1:{web_port}"
    try:
        systemd.wait_for("READY=1", 120)
        deadline = time.monotonic() + 120
        systemd.seen.clear()
        systemd.wait_for("WATCHDOG=1", 5)  # every 0.5 s while the checks pass
        # the first round's status may come before the test clears ``seen``
        assert "STATUS=running" in systemd.log[systemd.log.index("READY=1") :]
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
            "roles": ["ingest", "web", "alerts"],
        }
        refused = json.dumps({"username": "nobody", "password": "wrong-password"}).encode()
        assert _get(f"{web}/api/v1/auth/login", refused)[0] == 401
        assert _get(f"{web}/api/v1/stations")[0] == 401
        assert _get(f"{web}/metrics")[0] == 404  # not on the dashboard's port
        _feed_ingest(port, env)

        # every family of every process, once each process sampled (once a second; the
        # alert engine and the scheduler start after the banner)
        # (the forwarder's families are labelled by target, and none is configured here:
        # tests/forward covers them; its pool is role="forward")
        expected = {f for f in exported_families() if not f.startswith("envgrid_forward_")}
        while time.monotonic() < deadline:
            families = _families(metrics)
            roles = {
                s.labels["role"]
                for s in families.get("envgrid_db_pool_connections", [])
                if s.value > 0
            }
            if expected <= set(families) and roles == set(POOL_ROLES):
                break
            time.sleep(0.5)
        assert expected <= set(families), f"missing: {expected - set(families)}"
        assert roles == set(POOL_ROLES)
        requests = {
            (s.labels["route"], s.labels["method"], s.labels["status"]): s.value
            for s in families["envgrid_web_requests"]
            if s.name == "envgrid_web_requests_total"
        }
        assert requests[("/readyz", "GET", "200")] >= 1
        assert requests[("/api/v1/auth/login", "POST", "401")] == 1
        assert requests[("/api/v1/stations", "GET", "401")] == 1
        assert any(
            s.name == "envgrid_web_request_seconds_bucket" and s.labels["route"] == "/healthz"
            for s in families["envgrid_web_request_seconds"]
        )
        failures = [
            s
            for s in families["envgrid_web_login_failures"]
            if s.name == "envgrid_web_login_failures_total"
        ]
        assert [(s.labels["reason"], s.value) for s in failures] == [("bad_credentials", 1.0)]
        assert families["envgrid_web_sse_clients"][0].value == 0
        flagged = {s.labels["kind"]: s.value for s in families["envgrid_frames_flagged"]}
        assert flagged["edition_mismatch"] >= 1
        runs = {
            (s.labels["name"], s.labels["outcome"]): s.value
            for s in families["envgrid_scheduler_job_runs"]
            if s.name.endswith("_total")
        }
        assert runs[("offline-sweep", "ok")] >= 1  # runs at start
        success = {
            s.labels["name"]
            for s in families["envgrid_scheduler_job_last_success_timestamp_seconds"]
        }
        assert "offline-sweep" in success
        lag = families["envgrid_alerts_evaluation_lag_seconds"][0].value
        assert 0 <= lag < 60
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        try:
            systemd.wait_for("STOPPING=1", 5)
        finally:
            systemd.close()
    assert server.returncode == 0, log.read_text()[-3000:]
