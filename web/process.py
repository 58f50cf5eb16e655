"""The web process of ``envgrid serve``: ``run_web`` (spawned by the supervisor) and the
start banner line ``describe_endpoint``."""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Protocol

from aiohttp import web

from store.engine import Engine
from store.service import run_until_signalled
from store.validation import ConfigError
from web.health import listener_address
from web.keys import ROLES_KEY
from web.settings import WebConfig, WebSettings

__all__ = ["ServerConfig", "describe_endpoint", "run_web", "serve", "tls_context"]

log = logging.getLogger("envgrid.web")


class _Listener(Protocol):
    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...


class _Roles(Protocol):
    @property
    def roles(self) -> tuple[str, ...]: ...


class ServerConfig(WebConfig, Protocol):
    """The web settings plus where the ingest workers listen (``/readyz`` checks it when
    this host runs them) and the host's roles (``cluster.roles``)."""

    @property
    def ingest(self) -> _Listener: ...

    @property
    def cluster(self) -> _Roles: ...


def describe_endpoint(settings: WebConfig) -> str:
    return (
        f"{settings.web.base_url}  (first log-in: envgrid user add NAME --role admin;"
        " then open the URL and sign in)"
    )


class _Passphrase(Exception):
    """web.tls_key is encrypted."""


def _no_passphrase() -> bytes:
    raise _Passphrase


def tls_context(settings: WebSettings) -> ssl.SSLContext | None:
    """The server TLS context of ``web.tls_cert`` / ``web.tls_key`` (None: plain http);
    :class:`ConfigError` when the files do not load (the message names the file, never
    shows its content)."""
    if not settings.tls:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        # an encrypted key would make OpenSSL ask on the terminal: refuse it instead
        context.load_cert_chain(settings.tls_cert, settings.tls_key, password=_no_passphrase)
    except _Passphrase:
        raise ConfigError(
            f"web.tls_key: {settings.tls_key!r} is protected by a passphrase; envgrid needs"
            " it unencrypted (openssl pkey -in KEY -out KEY.plain), readable only by envgrid"
        ) from None
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(
            f"web.tls_cert / web.tls_key: cannot load {settings.tls_cert!r} with"
            f" {settings.tls_key!r} ({reason}); both must be PEM files and the key must"
            " belong to the certificate"
        ) from None
    return context


async def serve(settings: ServerConfig, dsn: str, stop: asyncio.Event) -> None:
    """Run the app until ``stop`` is set; then close listeners and end streams."""
    from web.app import create_app

    roles = settings.cluster.roles
    listener = (
        listener_address(settings.ingest.host, settings.ingest.port) if "ingest" in roles else None
    )
    app = create_app(settings, dsn, ingest_listener=listener)
    app[ROLES_KEY] = tuple(roles)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=10.0)
    await runner.setup()
    site = web.TCPSite(
        runner,
        settings.web.host,
        settings.web.port,
        reuse_address=True,
        ssl_context=tls_context(settings.web),
    )
    await site.start()
    if settings.web.plain_http_exposed:
        log.warning(
            "web: listening on %s over plain http; set web.public_url to the https URL of"
            " the reverse proxy so session cookies are Secure",
            settings.web.host,
        )
    log.info("web dashboard on %s", settings.web.base_url)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def run_web(settings: ServerConfig, dsn: str, engine: Engine, index: int) -> None:
    """Process entry point (blocking); SIGTERM/SIGINT stop it gracefully."""
    run_until_signalled(settings, lambda stop: serve(settings, dsn, stop), quiet=("apscheduler",))
