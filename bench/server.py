"""The server under test: ``envgrid serve`` in a subprocess, as a user runs it.

It gets a private data directory (its own embedded PostgreSQL) unless a DSN is
given, free ports, and whatever settings the scenario needs, through the same
environment variables a user would set.  The harness reads counts from the
database, process figures from /proc and the latency histogram from the
Prometheus endpoint.  Once it accepts stations, :attr:`ServerUnderTest.engine` is read
from its database (:func:`bench.engines.describe_engine`), so every figure is labelled with
the engine it was measured on.  Of the environment only the engine and the server binaries
(``ENVGRID_DATABASE__ENGINE``, ``ENVGRID_DATABASE__EMBEDDED_BINDIR``: how TimescaleDB is
chosen on a machine where it is staged in a copy of the server) reach the server; settings
(``envgrid bench --set``, ``--engines``) win over them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from store.embedded import EmbeddedPostgres

from .db import free_port
from .engines import describe_engine
from .proc import ProcSample, postgres_pids, process_name, sample, tree_pids

__all__ = [
    "PASSED_THROUGH",
    "ServerUnderTest",
    "bucket_quantiles",
    "free_port",
    "histogram_quantiles",
    "inherited_environment",
    "server_settings",
]

#: The only ENVGRID_* variables of the harness's environment the server under test sees.
PASSED_THROUGH = ("ENVGRID_DATABASE__ENGINE", "ENVGRID_DATABASE__EMBEDDED_BINDIR")


def inherited_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """What the server under test inherits of ``environ``: no ENVGRID_* variable but the
    engine and the server binaries (:data:`PASSED_THROUGH`); its settings come after."""
    return {k: v for k, v in environ.items() if not k.startswith("ENVGRID_") or k in PASSED_THROUGH}


def server_settings(workers: int, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Settings of the server under test: ``workers`` ingest workers (0: one per core)
    and ``overrides`` ("section.field" → value; ``envgrid bench --set``)."""
    settings: dict[str, Any] = {"ingest.workers": workers} if workers else {}
    settings.update(overrides or {})
    return settings


@dataclass
class ServerUnderTest:
    """Start with :meth:`start`, stop with :meth:`stop` (or use ``with``)."""

    settings: Mapping[str, Any] = field(default_factory=dict)
    dsn: str | None = None
    web: bool = False
    alerts: bool = False
    #: ``envgrid serve --role`` (e.g. "ingest,alerts"); when set, ``web``/``alerts`` are unused
    roles: str | None = None
    #: False: ``--no-forward`` (no forwarder to upstream platforms beside the alerts role)
    forward: bool = True
    data_dir: Path | None = None
    port: int = 0
    metrics_port: int = 0
    pg_port: int = 0
    process: subprocess.Popen[str] | None = None
    banner: str = ""
    #: where the private data directory goes (None: the system temporary directory)
    tmp_base: str | None = None
    log_tail: list[str] = field(default_factory=list)
    #: the engine of its database, read from it once started (bench.engines)
    engine: str = ""
    _tmp: Path | None = None
    _pump_thread: threading.Thread | None = None

    def start(self, timeout: float = 120.0) -> None:
        if self.data_dir is None:
            # on disk, not tmpfs: "durably committed" must include the real fsync cost
            self._tmp = Path(tempfile.mkdtemp(prefix="envgrid-bench-", dir=self.tmp_base))
            self._tmp.chmod(0o755)  # the postgres account must enter it when we are root
            self.data_dir = self._tmp / "var"
        self.port = self.port or free_port()
        self.metrics_port = self.metrics_port or free_port()
        self.pg_port = self.pg_port or free_port()
        env = inherited_environment(os.environ)
        env.update(
            {
                "ENVGRID_DATA_DIR": str(self.data_dir),
                "ENVGRID_INGEST__PORT": str(self.port),
                "ENVGRID_INGEST__METRICS_PORT": str(self.metrics_port),
                "ENVGRID_DATABASE__EMBEDDED_PORT": str(self.pg_port),
                "ENVGRID_WEB__PORT": str(free_port()),
            }
        )
        if self.dsn:
            env["ENVGRID_DSN"] = self.dsn
        for key, value in self.settings.items():
            section, _, name = key.partition(".")
            env[f"ENVGRID_{section.upper()}__{name.upper()}"] = str(value)
        args = [sys.executable, "-m", "envgrid", "serve"]
        if self.roles is not None:
            args += ["--role", self.roles]
        if self.roles is None and not self.web:
            args.append("--no-web")
        if self.roles is None and not self.alerts:
            args.append("--no-alerts")
        if not self.forward:
            args.append("--no-forward")
        self.process = subprocess.Popen(
            args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self.process.stdout is not None
        lines = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Stop with Ctrl-C"):
                break
        self.banner = "".join(lines)
        if not self.banner.rstrip().endswith("Stop with Ctrl-C."):
            self.stop()
            raise RuntimeError(f"envgrid serve did not start:\n{self.banner[-3000:]}")
        # keep draining the log so the server never blocks on a full pipe
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()
        self.engine = asyncio.run(describe_engine(self.database_dsn))

    def _pump(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        with self.process.stdout:  # closed at EOF: every process of the host has ended
            for line in self.process.stdout:
                self.log_tail.append(line)
                if len(self.log_tail) > 400:
                    del self.log_tail[:200]

    def _drained(self) -> None:
        """Wait (briefly) until the log pump has read to the end and closed the pipe."""
        if self._pump_thread is not None:
            self._pump_thread.join(5)

    @property
    def database_dsn(self) -> str:
        if self.dsn:
            return self.dsn
        # the embedded cluster asks for the superuser's password (store.embedded)
        return self.embedded().dsn

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def server_pids(self) -> list[int]:
        """The supervisor and its children (ingest workers, web, alerts)."""
        pg = set(postgres_pids())
        return [p for p in tree_pids(self.pid) if p not in pg]

    def worker_pids(self) -> list[int]:
        return [p for p in self.server_pids() if p != self.pid and _is_spawned(p)]

    def server_sample(self) -> ProcSample:
        return sample(self.server_pids())

    def alerts_sample(self) -> ProcSample:
        """The alert engine's process alone (its kernel name, ingest.supervisor)."""
        return sample(p for p in self.server_pids() if process_name(p) == "envgrid-alerts")

    def postgres_sample(self) -> ProcSample:
        return sample(self.postgres_pids())

    def postgres_pids(self) -> list[int]:
        """The database's processes (its embedded cluster's only, when it has one)."""
        data = self.data_dir / "pg" / "data" if self.data_dir is not None and not self.dsn else None
        return postgres_pids(data)

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(response.read().decode())

    async def count(self, sql: str, *args: Any) -> int:
        conn = await asyncpg.connect(self.database_dsn)
        try:
            return int(await conn.fetchval(sql, *args))
        finally:
            await conn.close()

    # -- faults ------------------------------------------------------------------------------
    def embedded(self) -> EmbeddedPostgres:
        """The server's embedded cluster (to stop and start it under load)."""
        assert self.data_dir is not None and not self.dsn
        return EmbeddedPostgres(self.data_dir / "pg", "127.0.0.1", self.pg_port)

    def kill_all(self) -> list[int]:
        """SIGKILL the supervisor and every child at once (a host that dies); returns the
        pids (an embedded cluster, if any, is left alone)."""
        pids = self.server_pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait(10)
        self._drained()
        return pids

    def kill_worker(self, index: int = 0) -> int:
        """SIGKILL one ingest worker; returns its pid."""
        pid = sorted(self.worker_pids())[index]
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self, timeout: float = 60.0, *, remove: bool = True) -> int | None:
        code = None
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                code = self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                code = self.process.wait(10)
        elif self.process is not None:
            code = self.process.returncode
        self._drained()
        if remove and self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        return code

    def __enter__(self) -> ServerUnderTest:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _is_spawned(pid: int) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


_BUCKET = re.compile(r'^(\w+)_bucket\{le="([^"]+)"\} (\S+)$', re.M)


def histogram_quantiles(
    text: str, name: str, quantiles: tuple[float, ...] = (0.5, 0.99)
) -> dict[str, float | None]:
    """Quantiles of a Prometheus histogram (linear within a bucket, as histogram_quantile)."""
    buckets = [
        (float("inf") if le == "+Inf" else float(le), float(count))
        for metric, le, count in _BUCKET.findall(text)
        if metric == name
    ]
    return bucket_quantiles(buckets, quantiles)


def bucket_quantiles(
    buckets: list[tuple[float, float]], quantiles: tuple[float, ...] = (0.5, 0.99)
) -> dict[str, float | None]:
    """Quantiles of cumulative ``(le, count)`` buckets (linear within a bucket, as
    Prometheus' histogram_quantile); keys ``p50``, ``p99``, ``p99.9``."""
    buckets = sorted(buckets)
    out: dict[str, float | None] = {}
    if not buckets or buckets[-1][1] == 0:
        return {_quantile_key(q): None for q in quantiles}
    total = buckets[-1][1]
    for q in quantiles:
        rank = q * total
        lower_bound, lower_count = 0.0, 0.0
        value: float | None = None
        for bound, count in buckets:
            if count >= rank:
                if bound == float("inf"):
                    value = lower_bound
                else:
                    span = count - lower_count
                    frac = (rank - lower_count) / span if span else 0.0
                    value = lower_bound + (bound - lower_bound) * frac
                break
            lower_bound, lower_count = bound, count
        out[_quantile_key(q)] = value
    return out


def _quantile_key(q: float) -> str:
    """0.5 → ``p50``, 0.999 → ``p99.9``."""
    return f"p{round(q * 100, 3):g}"
