"""``envgrid serve`` as a user runs it: embedded PostgreSQL, several workers, restarts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from protocol import Decoder, Frame, Role, encode_upload

from ..conftest import free_port

pytestmark = pytest.mark.slow


def envgrid(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "envgrid", *args], env=env, text=True,
                          capture_output=True, timeout=timeout, check=False)


async def send_and_ack(port: int, frame: bytes) -> Frame:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(frame)
        await writer.drain()
        decoder = Decoder(role=Role.STATION)
        async with asyncio.timeout(15):
            while True:
                for event in decoder.feed(await reader.read(4096)):
                    assert isinstance(event, Frame)
                    return event
    finally:
        writer.close()
        await writer.wait_closed()


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON log lines in a process's output (banner lines are text)."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def worker_pids(supervisor_pid: int) -> set[int]:
    out = subprocess.run(["pgrep", "-P", str(supervisor_pid), "-f", "spawn_main"],
                         capture_output=True, text=True, check=False).stdout
    return {int(p) for p in out.split()}


async def test_serve_embedded_database_workers_and_restart(pg_reachable_tmp: Path) -> None:
    port, metrics, pg_port = free_port(), free_port(), free_port()
    env = {**os.environ, "ENVGRID_DATA_DIR": str(pg_reachable_tmp / "var"),
           "ENVGRID_INGEST__PORT": str(port), "ENVGRID_INGEST__METRICS_PORT": str(metrics),
           "ENVGRID_DATABASE__EMBEDDED_PORT": str(pg_port), "ENVGRID_INGEST__WORKERS": "2",
           "ENVGRID_INGEST__BATCH_MS": "50", "ENVGRID_CORE__LOG_FORMAT": "json"}
    env.pop("ENVGRID_DSN", None)
    server = subprocess.Popen([sys.executable, "-m", "envgrid", "serve", "--no-web",
                               "--no-alerts"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        banner = []
        deadline = time.monotonic() + 90
        assert server.stdout is not None
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            banner.append(line)
            if line.startswith("Stop with Ctrl-C"):
                break
        text = "".join(banner)
        assert f"tcp://0.0.0.0:{port}" in text, text
        assert f"http://127.0.0.1:{metrics}/metrics" in text
        assert "embedded PostgreSQL" in text and "Point a data logger at" in text

        added = envgrid("station", "add", "SERVE00000000000000001", "--password", "123456",
                        "--st", "22", env=env)
        assert added.returncode == 0, added.stderr
        frame = encode_upload(2011, st="22", mn="SERVE00000000000000001", pw="123456",
                              qn="20261121100000001", data_time="20261121100000",
                              values={"a21026": {"Rtd": "8.0", "Flag": "N"}})
        ack = await send_and_ack(port, frame)
        assert ack.cn == 9014 and ack.qn == "20261121100000001"
        # the CLI logs its change (JSON, as configured), the password never
        (change,) = json_lines(added.stderr)
        assert change["event"] == "config_change" and change["mn"] == "SERVE00000000000000001"
        assert change["by"].startswith("cli") and "123456" not in added.stderr
        wrong = encode_upload(2011, st="22", mn="SERVE00000000000000001", pw="654321",
                              qn="20261121100000009", data_time="20261121100000",
                              values={"a21026": {"Rtd": "8.0", "Flag": "N"}})
        with contextlib.suppress(TimeoutError, ConnectionError):
            await send_and_ack(port, wrong)  # refused: a line about the station, with its MN

        # a worker killed with SIGKILL is restarted by the supervisor
        before = worker_pids(server.pid)
        assert len(before) == 2, before
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = worker_pids(server.pid)
            if len(now) == 2 and victim not in now:
                break
            await asyncio.sleep(0.2)
        assert victim not in worker_pids(server.pid) and len(worker_pids(server.pid)) == 2
        for i in range(2, 6):  # still serving (whichever worker takes the connection)
            again = encode_upload(2011, st="22", mn="SERVE00000000000000001", pw="123456",
                                  qn=f"2026112110000000{i}", data_time=f"2026112110000{i}",
                                  values={"a21026": {"Rtd": "8.0", "Flag": "N"}})
            assert (await send_and_ack(port, again)).cn == 9014

        await asyncio.sleep(1.5)  # metrics are pushed once a second
        body = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=5).read()
        assert re.search(rb'envgrid_frames_total\{cn="2011"\} [1-9]', body), body[:2000]
        assert b"envgrid_commit_latency_seconds_bucket" in body
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            out, _ = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            out, _ = server.communicate()
    assert server.returncode == 0, out[-3000:]
    assert "embedded PostgreSQL stopped" in out
    logged = json_lines("".join(banner) + out)
    events = {(e.get("event"), e.get("service")) for e in logged}
    for service in ("supervisor", "envgrid-ingest-0", "envgrid-ingest-1"):
        assert ("start", service) in events and ("stop", service) in events, service
    assert any(e.get("event") == "migration" and e["version"] == 1 for e in logged)
    about = [e for e in logged if e.get("mn") == "SERVE00000000000000001"]
    assert about and all(e["proc"].startswith("envgrid-ingest-") for e in about), about
    assert "654321" not in out and "123456" not in out  # passwords never logged


def test_station_import_from_the_simulator(pg_reachable_tmp: Path, db_dsn: str) -> None:
    """``envgrid simulate --list-stations | envgrid station import -`` registers a fleet."""
    env = {**os.environ, "ENVGRID_DSN": db_dsn}
    listing = envgrid("simulate", "--list-stations", "--stations", "5", "--st", "22,32", env=env)
    assert listing.returncode == 0, listing.stderr
    imported = subprocess.run([sys.executable, "-m", "envgrid", "station", "import", "-"],
                              input=listing.stdout, env=env, text=True, capture_output=True,
                              timeout=60, check=False)
    assert imported.returncode == 0, imported.stderr
    assert "5 stations registered" in imported.stdout
    listed = envgrid("station", "list", env=env)
    assert listed.stdout.count('"mn"') == 5
