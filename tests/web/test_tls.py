"""envgrid's own TLS (``web.tls_cert`` / ``web.tls_key``): the web process serves https with
a certificate made here (self-signed, ``cryptography``), refuses plain http on that port,
and a missing, mismatched or encrypted key is a clear ConfigError (never a prompt)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import ssl
from pathlib import Path

import aiohttp
import pytest

from envgrid import serve as serve_cli
from envgrid.settings import load_settings
from store.validation import ConfigError
from tests.certs import new_key, pem_key, self_signed
from tests.webapp import app_settings
from web.process import serve, tls_context
from web.settings import WebSettings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_dashboard_over_https(db_dsn: str, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "envgrid test", ("localhost", "127.0.0.1"))
    port = _free_port()
    settings = app_settings(
        db_dsn,
        tmp_path,
        {"web.port": port, "web.tls_cert": str(cert), "web.tls_key": str(key)},
    )
    assert settings.web.base_url == f"https://127.0.0.1:{port}/"
    assert not WebSettings(host="0.0.0.0", tls_cert=str(cert), tls_key=str(key)).plain_http_exposed
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, db_dsn, stop))
    trust = ssl.create_default_context(cafile=str(cert))
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                with contextlib.suppress(aiohttp.ClientConnectorError):
                    async with http.get(f"https://127.0.0.1:{port}/healthz", ssl=trust) as r:
                        assert r.status == 200
                        break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("the https dashboard did not answer")
            # the log-in page, by host name (the certificate names localhost too)
            async with http.get(f"https://localhost:{port}/login", ssl=trust) as r:
                assert r.status == 200
            # plain http on the TLS port gets no page
            with pytest.raises(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                    await r.read()
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def test_bad_tls_files_are_config_errors(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "envgrid test", ("localhost", "127.0.0.1"))
    other = tmp_path / "other.pem"
    other.write_bytes(pem_key(new_key()))
    locked = tmp_path / "locked.pem"
    locked.write_bytes(pem_key(new_key(), b"secret"))
    assert tls_context(WebSettings()) is None
    assert isinstance(
        tls_context(WebSettings(tls_cert=str(cert), tls_key=str(key))), ssl.SSLContext
    )
    for bad_key, message in (
        (other, "KEY_VALUES_MISMATCH"),  # the key of another certificate
        (cert, "PEM lib"),  # not a key at all
        (locked, "passphrase"),  # never a prompt on the terminal
    ):
        with pytest.raises(ConfigError, match=message) as err:
            tls_context(WebSettings(tls_cert=str(cert), tls_key=str(bad_key)))
        assert str(bad_key) in str(err.value) and "PRIVATE KEY" not in str(err.value)
    for values, message in (
        ({"web.tls_cert": str(cert)}, "go together"),
        ({"web.tls_cert": str(tmp_path / "none.pem"), "web.tls_key": str(key)}, "no such file"),
    ):
        with pytest.raises(ConfigError, match=message):
            load_settings(None, {}, values, discover=False)


def test_serve_exits_2_on_a_bad_certificate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cert, _ = self_signed(tmp_path)
    parser = argparse.ArgumentParser()
    serve_cli.configure(parser)
    values = {"core.data_dir": str(tmp_path), "web.tls_cert": str(cert), "web.tls_key": str(cert)}
    code = serve_cli.run(
        parser.parse_args([]), lambda o: load_settings(None, {}, {**o, **values}, discover=False)
    )
    assert code == 2 and "web.tls_cert / web.tls_key" in capsys.readouterr().err
