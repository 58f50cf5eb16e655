"""Where webhooks may go: no request forgery into the server's own network.

A webhook, WeCom or DingTalk receiver is a URL typed by whoever may edit receivers; without
a check the alert engine would POST wherever it points — the database's port on loopback,
a cloud metadata address, the bureau's intranet.  So a delivery is refused when the target
address is loopback, link-local, private, multicast, reserved or unspecified, unless an
allow-list names it (``alerts.webhook_allowed_networks``, CIDRs — e.g. an intranet relay).

* Host names are checked where they are resolved (:class:`GuardedResolver`, the session's
  resolver), so the address checked is the address connected to (no DNS rebinding
  between a check and the connection); IP literals, which aiohttp does not resolve, are
  checked before the request (:func:`check_url`).
* Redirects are not followed (``allow_redirects=False`` at the call).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from .base import NotifyError

__all__ = ["GuardedResolver", "TargetPolicy", "TargetRefused", "check_url"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TargetRefused(NotifyError):
    """The receiver's URL points into a network webhooks may not reach (never retried)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retry=False)


class TargetPolicy:
    """Which addresses deliveries may connect to: public ones, and ``allowed`` networks."""

    def __init__(self, allowed: Sequence[str] = ()) -> None:
        self.allowed: tuple[Network, ...] = tuple(
            ipaddress.ip_network(a, strict=False) for a in allowed
        )

    def refusal(self, address: str) -> str | None:
        """Why ``address`` may not be reached, or None when it may."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in network for network in self.allowed):
            return None
        for kind, flag in (
            ("loopback", ip.is_loopback),
            ("link-local", ip.is_link_local),
            ("private", ip.is_private),
            ("multicast", ip.is_multicast),
            ("reserved", ip.is_reserved),
            ("unspecified", ip.is_unspecified),
        ):
            if flag:
                return (
                    f"{ip} is a {kind} address; webhooks may only reach public addresses"
                    " unless alerts.webhook_allowed_networks names it"
                )
        return None


def check_url(url: str, policy: TargetPolicy) -> None:
    """Refuse a URL whose host is an IP literal the policy forbids (host names are checked
    by :class:`GuardedResolver` when they are resolved)."""
    host = urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return  # a name: checked when resolved
    reason = policy.refusal(host)
    if reason is not None:
        raise TargetRefused(f"refused {host}: {reason}")


class GuardedResolver(AbstractResolver):
    """The default resolver, minus the addresses the policy refuses; a name that resolves
    to refused addresses only is a :class:`TargetRefused`."""

    def __init__(self, policy: TargetPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        allowed = [r for r in results if self.policy.refusal(r["host"]) is None]
        if not allowed:
            reason = self.policy.refusal(results[0]["host"]) if results else "no address"
            raise TargetRefused(f"refused {host}: {reason}")
        return allowed

    async def close(self) -> None:
        await self.inner.close()

    def __repr__(self) -> str:
        allowed: Any = [str(n) for n in self.policy.allowed]
        return f"GuardedResolver(allowed={allowed})"
