"""envgrid.watchdog: sd_notify datagrams through a real Unix datagram socket (as systemd
receives them), which checks earn a watchdog ping, and a round against a real database
and a real loopback listener."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from envgrid.watchdog import Checks, Notifier, Watchdog, describe, healthy
from tests.conftest import dsn_with_database


class NotifySocket:
    """What systemd listens on: a Unix datagram socket; ``address`` as in NOTIFY_SOCKET."""

    def __init__(self, sock: socket.socket, address: str) -> None:
        self.sock = sock
        self.address = address

    def receive(self, timeout: float = 5.0) -> list[str]:
        self.sock.settimeout(timeout)
        return self.sock.recv(4096).decode("utf-8").split("\n")

    def pending(self) -> list[list[str]]:
        self.sock.setblocking(False)
        out = []
        while True:
            try:
                out.append(self.sock.recv(4096).decode("utf-8").split("\n"))
            except BlockingIOError:
                return out


def bind(kind: str, tmp_path: Path) -> NotifySocket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if kind == "path":
        sock.bind(str(tmp_path / "notify"))
        return NotifySocket(sock, str(tmp_path / "notify"))
    name = f"envgrid-test-{uuid.uuid4().hex}"
    sock.bind("\0" + name)
    return NotifySocket(sock, "@" + name)


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    receiver = bind("path", tmp_path)
    try:
        yield receiver
    finally:
        receiver.sock.close()


@pytest.mark.parametrize(
    ("environ", "address", "watchdog_s"),
    [
        ({}, None, None),
        ({"NOTIFY_SOCKET": "/run/systemd/notify"}, "/run/systemd/notify", None),
        ({"NOTIFY_SOCKET": "@sd", "WATCHDOG_USEC": "30000000"}, "@sd", 30.0),
        ({"NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "42"}, "/n", 1.0),
        # the watchdog of another process (WATCHDOG_PID), a bad period, no socket: off
        ({"NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "7"}, "/n", None),
        ({"NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "soon"}, "/n", None),
        ({"NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "0"}, "/n", None),
        ({"WATCHDOG_USEC": "1000000"}, None, None),
        # neither a path nor @abstract: ignored (logged)
        ({"NOTIFY_SOCKET": "relative/notify", "WATCHDOG_USEC": "1000000"}, None, None),
        ({"NOTIFY_SOCKET": "@"}, None, None),
    ],
)
def test_notifier_from_the_environment(
    environ: dict[str, str], address: str | None, watchdog_s: float | None
) -> None:
    notifier = Notifier.from_environ(environ, pid=42)
    assert (notifier.address, notifier.watchdog_s) == (address, watchdog_s)
    assert notifier.enabled is (address is not None)


@pytest.mark.parametrize("kind", ["path", "abstract"])
def test_notifications_arrive_as_one_datagram_each(kind: str, tmp_path: Path) -> None:
    notify_socket = bind(kind, tmp_path)
    notifier = Notifier(notify_socket.address, 1.0)
    assert notifier.ready("running: HJ 212 on port 8212")
    assert notify_socket.receive() == ["READY=1", "STATUS=running: HJ 212 on port 8212"]
    assert notifier.ping()
    assert notify_socket.receive() == ["WATCHDOG=1"]
    assert notifier.status("degraded: 数据库 failing")
    assert notify_socket.receive() == ["STATUS=degraded: 数据库 failing"]
    assert notifier.stopping()
    assert notify_socket.receive() == ["STOPPING=1", "STATUS=stopping"]
    notify_socket.sock.close()


def test_without_systemd_nothing_is_sent_and_a_gone_socket_is_no_crash(tmp_path: Path) -> None:
    assert Notifier().ping() is False
    assert Notifier(str(tmp_path / "nobody-listens")).ping() is False


@pytest.mark.parametrize(
    ("ingest", "database", "embedded", "ping", "status"),
    [
        (True, True, True, True, "running"),
        (True, True, False, True, "running"),
        # the embedded cluster is ours: a restart brings it back
        (True, False, True, False, "degraded: database failing"),
        # an external database: the workers spool meanwhile, a restart would not help
        (True, False, False, True, "degraded: database failing"),
        (False, True, False, False, "degraded: ingest failing"),
        (False, False, True, False, "degraded: ingest and database failing"),
    ],
)
def test_which_checks_earn_a_ping(
    ingest: bool, database: bool, embedded: bool, ping: bool, status: str
) -> None:
    checks = Checks(ingest=ingest, database=database)
    assert healthy(checks, embedded=embedded) is ping
    assert describe(checks) == status


async def _listener() -> asyncio.Server:
    async def close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    return await asyncio.start_server(close, "127.0.0.1", 0)


async def test_rounds_against_a_real_database_and_listener(
    db_dsn: str, notify_socket: NotifySocket, tmp_path: Path
) -> None:
    server = await _listener()
    port = server.sockets[0].getsockname()[1]
    notifier = Notifier(notify_socket.address, 0.1)
    dsn = [db_dsn]
    watchdog = Watchdog(notifier, lambda: dsn[0], ("127.0.0.1", port), embedded=True)
    try:
        assert await watchdog.round() is True
        assert notify_socket.pending() == [["STATUS=running"]]
        assert await watchdog.round() is True
        assert notify_socket.pending() == []  # the status is sent when it changes

        dsn[0] = dsn_with_database(db_dsn, "no_such_database")
        await watchdog.close()  # the next round connects again, to the wrong database
        assert await watchdog.round() is False
        assert notify_socket.pending() == [["STATUS=degraded: database failing"]]
        dsn[0] = db_dsn

        server.close()
        await server.wait_closed()
        assert await watchdog.round() is False
        assert notify_socket.pending() == [["STATUS=degraded: ingest failing"]]
    finally:
        await watchdog.close()

    # run(): pings while starting (no checks yet), then only while the checks pass
    ready = [False]
    task = asyncio.get_running_loop().create_task(watchdog.run(lambda: ready[0]))
    try:
        # starting (the port may not be up yet): pings without checks, each one moving
        # the start timeout three periods (0.05 s) ahead
        assert await asyncio.to_thread(notify_socket.receive) == [
            "WATCHDOG=1",
            "EXTEND_TIMEOUT_USEC=150000",
        ]
        ready[0] = True
        await asyncio.sleep(0.1)
        notify_socket.pending()  # what was sent before it noticed
        await asyncio.sleep(0.3)
        assert notify_socket.pending() == []  # ready, and the listener is gone: no ping
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_a_full_worker_is_not_a_hung_one(tmp_path: Path) -> None:
    """The listener is closed, but a worker says it is at its connection limit (written
    in multiprocess mode by another process, as the workers do): the check passes."""
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    script = (
        "from prometheus_client import Gauge\n"
        "Gauge('envgrid_workers_not_accepting', 'x', multiprocess_mode='livesum').set(1)\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there
    watchdog = Watchdog(Notifier(), lambda: "", ("127.0.0.1", port), embedded=False)
    assert asyncio.run(watchdog._ingest()) is False
    watchdog.metrics_dir = str(metrics)
    assert asyncio.run(watchdog._ingest()) is True


def test_a_receiver_that_does_not_read_never_blocks_the_sender(tmp_path: Path) -> None:
    receiver = bind("path", tmp_path)
    try:
        notifier = Notifier(receiver.address, 1.0)
        sent = [notifier.ping() for _ in range(3000)]  # more than any receive queue holds
        assert sent[0] is True and sent[-1] is False
    finally:
        receiver.sock.close()
