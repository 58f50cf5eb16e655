"""Rate limiting of log-in attempts per client address (token buckets, bounded memory).

Theory of operation
-------------------
The per-account lock-out (``web.lockout_count`` / ``web.lockout_s``, web/auth/service.py)
stops guessing *one* password; it does nothing against one client trying many accounts
(password spraying), and every attempt costs an argon2 verification (tens of ms of CPU),
so a flood of log-ins is also a cheap denial of service.  This module adds the missing
per-client limit:

* **Token bucket per client.**  A client starts with ``attempts`` tokens; an attempt takes
  one; tokens come back at ``attempts / per_s`` per second (so a burst of ``attempts``,
  then one every ``per_s / attempts`` seconds).  Refused attempts take nothing (they cost
  no argon2 either) and say when to come back (``Retry-After``).  A successful log-in
  gives its token back (:meth:`LoginAttempt.succeeded`): an office behind one NAT address
  is limited by its *failures*, not by how many colleagues log in at nine.
* **Client.**  The peer address; an IPv6 client is its /64 (``ipv6_prefix``) — one host
  holds the whole /64, so counting single addresses would be no limit at all.  Behind a
  reverse proxy, list it in ``trusted_proxies``: then the right-most address of
  ``X-Forwarded-For`` that is not a trusted proxy is the client (never the left-most,
  which the client writes itself).
* **Bounded memory.**  At most ``max_clients`` buckets (least recently used evicted; a
  bucket that has refilled is dropped, it equals a fresh one).  Eviction can only help a
  client that controls more than ``max_clients`` networks — against that, no per-address
  limit helps, the account lock-out still does.
* Per process, in memory: the web process is one process; with several, each limits on
  its own (the sum is still bounded).  The clock is injectable (tests).

Wiring (two lines, see the module's tests): ``setup_login_rate_limit(app, RateLimit(...))``
in ``create_app``, and ``attempt = login_attempt(request)`` in the log-in handlers before
the password is checked (``attempt.succeeded()`` after a successful log-in).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any, Final

from aiohttp import web

from web.responses import ApiError

__all__ = [
    "LOGIN_LIMITER_KEY",
    "Decision",
    "LoginAttempt",
    "LoginRateLimiter",
    "RateLimit",
    "RateLimited",
    "TokenBucketLimiter",
    "client_address",
    "describe",
    "login_attempt",
    "request_address",
    "request_client",
    "setup_login_rate_limit",
]

Clock = Callable[[], float]
_UNKNOWN: Final = "unknown"


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Limits of log-in attempts per client (defaults: 20 at once, then 2 a minute)."""

    #: Attempts a client may make at once (the bucket size).
    attempts: int = 20
    #: Seconds in which an empty bucket fills up again.
    per_s: float = 600.0
    #: Clients remembered at most (memory bound, about 200 bytes each).
    max_clients: int = 10_000
    #: IPv6 clients are counted per network of this prefix length.
    ipv6_prefix: int = 64
    #: Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For is believed.
    trusted_proxies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be ≥ 1 (got {self.attempts})")
        if not (self.per_s > 0 and math.isfinite(self.per_s)):
            raise ValueError(f"per_s must be a positive number of seconds (got {self.per_s})")
        if self.max_clients < 1:
            raise ValueError(f"max_clients must be ≥ 1 (got {self.max_clients})")
        if not 1 <= self.ipv6_prefix <= 128:
            raise ValueError(f"ipv6_prefix must be 1..128 (got {self.ipv6_prefix})")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"trusted_proxies: {proxy!r} is no address or network") from None


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    #: Seconds until the next attempt would be allowed (0 when allowed).
    retry_after_s: float
    #: Whole attempts left after this one.
    remaining: int


class TokenBucketLimiter:
    """Token buckets by key: ``capacity`` tokens, refilled at ``capacity / per_s`` a second."""

    __slots__ = ("_buckets", "_clock", "capacity", "max_keys", "rate")

    def __init__(
        self, capacity: int, per_s: float, *, max_keys: int = 10_000, clock: Clock = time.monotonic
    ) -> None:
        if capacity < 1 or per_s <= 0 or max_keys < 1:
            raise ValueError("capacity and max_keys must be ≥ 1, per_s > 0")
        self.capacity = float(capacity)
        self.rate = capacity / per_s
        self.max_keys = max_keys
        self._clock = clock
        #: key → [tokens, time of the last update]; most recently used last
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def _level(self, key: str, now: float) -> float:
        bucket = self._buckets.get(key)
        if bucket is None:
            return self.capacity
        tokens, since = bucket
        return min(self.capacity, tokens + max(0.0, now - since) * self.rate)

    def peek(self, key: str) -> Decision:
        """What :meth:`hit` would decide, without taking a token."""
        tokens = self._level(key, self._clock())
        if tokens >= 1.0:
            return Decision(True, 0.0, int(tokens) - 1)
        return Decision(False, (1.0 - tokens) / self.rate, 0)

    def hit(self, key: str) -> Decision:
        """Take a token for ``key`` if there is one."""
        now = self._clock()
        tokens = self._level(key, now)
        if tokens < 1.0:
            self._store(key, tokens, now)
            return Decision(False, (1.0 - tokens) / self.rate, 0)
        tokens -= 1.0
        self._store(key, tokens, now)
        return Decision(True, 0.0, int(tokens))

    def refund(self, key: str) -> None:
        """Give one token back (never above the capacity)."""
        now = self._clock()
        self._store(key, min(self.capacity, self._level(key, now) + 1.0), now)

    def reset(self, key: str) -> None:
        self._buckets.pop(key, None)

    def _store(self, key: str, tokens: float, now: float) -> None:
        buckets = self._buckets
        if tokens >= self.capacity:  # a full bucket is the same as none
            buckets.pop(key, None)
            return
        bucket = buckets.get(key)
        if bucket is None:
            if len(buckets) >= self.max_keys:
                self._evict(now)
            buckets[key] = [tokens, now]
        else:
            bucket[0] = tokens
            bucket[1] = now
            buckets.move_to_end(key)

    def _evict(self, now: float) -> None:
        """Make room for one key: drop refilled buckets among the oldest, else the oldest."""
        buckets = self._buckets
        full = [k for k in islice(buckets, 16) if self._level(k, now) >= self.capacity]
        for key in full:
            del buckets[key]
        while len(buckets) >= self.max_keys:
            buckets.popitem(last=False)


# -- clients ------------------------------------------------------------------------------


def _parse(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not text:
        return None
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:1234"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(
    peer: str | None,
    forwarded_for: str | None,
    trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (),
) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The client: the peer, or — when the peer is a trusted proxy — the right-most
    address of ``X-Forwarded-For`` that is not a trusted proxy."""
    address = _parse(peer)
    if address is None or not trusted or not any(address in net for net in trusted):
        return address
    for hop in reversed((forwarded_for or "").split(",")):
        hop_address = _parse(hop)
        if hop_address is None:
            return address  # a malformed chain: believe only the peer
        if not any(hop_address in net for net in trusted):
            return hop_address
        address = hop_address
    return address


class LoginRateLimiter:
    """Per-client limiter of log-in attempts for one web application."""

    def __init__(self, limit: RateLimit | None = None, *, clock: Clock = time.monotonic) -> None:
        self.limit = limit or RateLimit()
        self.buckets = TokenBucketLimiter(
            self.limit.attempts, self.limit.per_s, max_keys=self.limit.max_clients, clock=clock
        )
        self._trusted = tuple(
            ipaddress.ip_network(p, strict=False) for p in self.limit.trusted_proxies
        )

    def client_key(self, peer: str | None, forwarded_for: str | None = None) -> str:
        address = client_address(peer, forwarded_for, self._trusted)
        if address is None:
            return _UNKNOWN
        if isinstance(address, ipaddress.IPv6Address):
            net = ipaddress.IPv6Network((address, self.limit.ipv6_prefix), strict=False)
            return str(net)
        return str(address)

    def key_of(self, request: web.Request) -> str:
        return self.client_key(request.remote, self._forwarded_for(request))

    def address_of(self, request: web.Request) -> str | None:
        """The client's address (whole, for the audit log), proxies taken into account."""
        address = client_address(request.remote, self._forwarded_for(request), self._trusted)
        return str(address) if address is not None else None

    def _forwarded_for(self, request: web.Request) -> str | None:
        """The forwarded chain, ``X-Forwarded-For`` or else the ``for=`` elements of RFC 7239
        ``Forwarded`` — read only when a trusted proxy could have set it."""
        if not self._trusted:
            return None
        chain = request.headers.get("X-Forwarded-For")
        if chain is None and request.headers.get("Forwarded") is not None:
            chain = ",".join(f.get("for", "") for f in request.forwarded)
        return chain

    def hit(self, key: str) -> Decision:
        return self.buckets.hit(key)

    def refund(self, key: str) -> None:
        self.buckets.refund(key)


LOGIN_LIMITER_KEY: Final = web.AppKey("login_rate_limiter", LoginRateLimiter)


class RateLimited(ApiError):
    """429 with ``Retry-After`` (the error middleware renders it like any ApiError)."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after_s))
        wait = (
            f"{self.retry_after} 秒"
            if self.retry_after < 120
            else f"{math.ceil(self.retry_after / 60)} 分钟"
        )
        super().__init__(
            429,
            "too_many_requests",
            f"登录尝试过于频繁，请 {wait}后再试",
            headers={"Retry-After": str(self.retry_after)},
            retry_after=self.retry_after,
        )


@dataclass(slots=True)
class LoginAttempt:
    """One counted attempt; :meth:`succeeded` gives the token back."""

    limiter: LoginRateLimiter
    key: str
    refunded: bool = False

    def succeeded(self) -> None:
        if not self.refunded:
            self.refunded = True
            self.limiter.refund(self.key)


def setup_login_rate_limit(
    app: web.Application, limit: RateLimit | None = None, *, clock: Clock = time.monotonic
) -> LoginRateLimiter:
    """Install the limiter (in ``create_app``, before the app starts)."""
    limiter = LoginRateLimiter(limit, clock=clock)
    app[LOGIN_LIMITER_KEY] = limiter
    return limiter


def login_attempt(request: web.Request) -> LoginAttempt:
    """Count a log-in attempt of the calling client; :class:`RateLimited` when over the
    limit.  Call before the password is verified."""
    limiter = request.app[LOGIN_LIMITER_KEY]  # KeyError: setup_login_rate_limit() missing
    key = limiter.key_of(request)
    decision = limiter.hit(key)
    if not decision.allowed:
        raise RateLimited(decision.retry_after_s)
    return LoginAttempt(limiter, key)


def request_client(request: web.Request) -> str:
    """The calling client as every per-client limit sees it: the peer, or behind
    ``web.trusted_proxies`` the address they forwarded; an IPv6 client is its /64."""
    return request.app[LOGIN_LIMITER_KEY].key_of(request)


def request_address(request: web.Request) -> str | None:
    """The calling client's address as the audit log records it: the peer, or behind
    ``web.trusted_proxies`` the address they forwarded (X-Forwarded-For or Forwarded)."""
    return request.app[LOGIN_LIMITER_KEY].address_of(request)


def describe(limiter: LoginRateLimiter) -> dict[str, Any]:
    """For logs and diagnostics."""
    limit = limiter.limit
    return {
        "attempts": limit.attempts,
        "per_s": limit.per_s,
        "clients": len(limiter.buckets),
        "max_clients": limit.max_clients,
        "trusted_proxies": list(limit.trusted_proxies),
    }
