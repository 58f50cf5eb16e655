"""Webhooks cannot be pointed into the server's own network (issue 16, finding 8): loopback,
link-local, private and other non-public targets are refused unless
``alerts.webhook_allowed_networks`` names them, redirects are not followed, and the other
side's answer body never lands in the delivery log.  Real HTTP servers on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from alerts.notifiers import Channels, NotifyError
from alerts.notifiers.targets import TargetPolicy, TargetRefused
from tests.conftest import free_port

from .conftest import alert_settings
from .test_notifiers import MESSAGE, receiver


@pytest.mark.parametrize(
    ("address", "allowed", "refused"),
    [
        ("127.0.0.1", (), "loopback"),
        ("127.9.9.9", (), "loopback"),
        ("::1", (), "loopback"),
        ("::ffff:127.0.0.1", (), "loopback"),  # IPv4-mapped
        ("169.254.169.254", (), "link-local"),  # cloud metadata
        ("fe80::1", (), "link-local"),
        ("10.1.2.3", (), "private"),
        ("172.16.0.1", (), "private"),
        ("192.168.1.1", (), "private"),
        ("fd00::1", (), "private"),
        ("0.0.0.0", (), "private"),  # also "unspecified"; Python calls it private first
        ("224.0.0.1", (), "multicast"),
        ("240.0.0.1", (), "private"),
        ("8.8.8.8", (), None),
        ("2001:4860:4860::8888", (), None),
        ("10.20.1.1", ("10.20.0.0/16",), None),
        ("10.21.1.1", ("10.20.0.0/16",), "private"),
        ("127.0.0.1", ("127.0.0.1",), None),
    ],
)
def test_policy(address: str, allowed: tuple[str, ...], refused: str | None) -> None:
    reason = TargetPolicy(allowed).refusal(address)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and f"a {refused} address" in reason


class Server:
    """A webhook endpoint on loopback that records what reaches it."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.port = free_port()

    async def handle(self, request: web.Request) -> web.Response:
        self.paths.append(request.path)
        if request.path == "/moved":
            raise web.HTTPFound("/elsewhere")
        if request.path == "/fails":
            return web.Response(status=500, text="SECRET-TOKEN-4711 stack trace")
        return web.json_response({"ok": True})


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", srv.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", srv.port).start()
    try:
        yield srv
    finally:
        await runner.cleanup()


def _channels(tmp_path: Path, *allowed: str) -> Channels:
    """Channels with the default policy (nothing allowed) or ``allowed`` networks."""
    dsn = "postgresql://x@127.0.0.1/x"
    settings = alert_settings(dsn, tmp_path, webhook_allowed_networks=list(allowed))
    return Channels(settings.alerts)


@pytest.mark.parametrize("kind", ["webhook", "wecom", "dingtalk"])
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
async def test_loopback_targets_are_refused_and_never_reached(
    server: Server, tmp_path: Path, kind: str, host: str
) -> None:
    async with _channels(tmp_path) as channels:
        with pytest.raises(TargetRefused, match="loopback address") as info:
            await channels.send(receiver(kind, f"http://{host}:{server.port}/h"), MESSAGE, "x")
    assert not info.value.retry
    assert server.paths == []


async def test_allow_listed_network_is_reached(server: Server, tmp_path: Path) -> None:
    async with _channels(tmp_path, "127.0.0.0/8") as channels:
        await channels.send(receiver("webhook", f"http://localhost:{server.port}/h"), MESSAGE, "x")
    assert server.paths == ["/h"]


async def test_redirects_are_not_followed(server: Server, tmp_path: Path) -> None:
    async with _channels(tmp_path, "127.0.0.0/8") as channels:
        with pytest.raises(NotifyError, match=r"HTTP 302 Found \(redirects are not followed\)"):
            await channels.send(
                receiver("webhook", f"http://127.0.0.1:{server.port}/moved"), MESSAGE, "x"
            )
    assert server.paths == ["/moved"]  # never /elsewhere


async def test_the_answer_body_is_not_kept(server: Server, tmp_path: Path) -> None:
    async with _channels(tmp_path, "127.0.0.0/8") as channels:
        with pytest.raises(NotifyError) as info:
            await channels.send(
                receiver("webhook", f"http://127.0.0.1:{server.port}/fails"), MESSAGE, "x"
            )
    assert str(info.value).endswith("HTTP 500 Internal Server Error")
    assert "SECRET-TOKEN" not in str(info.value)
    assert info.value.retry
