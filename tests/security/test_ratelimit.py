"""The per-client log-in rate limiter (web/ratelimit.py), and its hook in the app."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from envgrid.settings import Settings
from tests.web.conftest import PASSWORD, Seed
from web.app import create_app
from web.ratelimit import (
    LOGIN_LIMITER_KEY,
    LoginRateLimiter,
    RateLimit,
    RateLimited,
    TokenBucketLimiter,
    client_address,
    describe,
    login_attempt,
    setup_login_rate_limit,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# -- the token bucket ---------------------------------------------------------------------


def test_burst_then_refused_with_the_wait(clock: FakeClock) -> None:
    bucket = TokenBucketLimiter(5, 300, clock=clock)  # 5 at once, then one per 60 s
    assert [bucket.hit("a").allowed for _ in range(5)] == [True] * 5
    refused = bucket.hit("a")
    assert not refused.allowed
    assert refused.retry_after_s == pytest.approx(60)
    clock.now += 59
    assert not bucket.hit("a").allowed
    clock.now += 1
    assert bucket.hit("a").allowed
    assert not bucket.hit("a").allowed


def test_refused_attempts_take_nothing(clock: FakeClock) -> None:
    bucket = TokenBucketLimiter(2, 100, clock=clock)
    bucket.hit("a")
    bucket.hit("a")
    for _ in range(100):
        assert not bucket.hit("a").allowed
    clock.now += 50  # one token back (2 per 100 s)
    assert bucket.hit("a").allowed


def test_clients_are_independent(clock: FakeClock) -> None:
    bucket = TokenBucketLimiter(1, 60, clock=clock)
    assert bucket.hit("a").allowed
    assert not bucket.hit("a").allowed
    assert bucket.hit("b").allowed


def test_refill_never_exceeds_the_capacity(clock: FakeClock) -> None:
    bucket = TokenBucketLimiter(3, 30, clock=clock)
    bucket.hit("a")
    clock.now += 10_000
    assert bucket.peek("a").remaining == 2
    assert [bucket.hit("a").allowed for _ in range(4)] == [True, True, True, False]


def test_refund_gives_one_token_back_up_to_the_capacity(clock: FakeClock) -> None:
    bucket = TokenBucketLimiter(2, 1000, clock=clock)
    bucket.hit("a")
    bucket.hit("a")
    bucket.refund("a")
    assert bucket.hit("a").allowed
    assert not bucket.hit("a").allowed
    bucket.refund("b")  # never seen: stays full, stores nothing
    assert len(bucket) == 1


def test_peek_does_not_count(clock: FakeClock) -> None:
    bucket = TokenBucketLimiter(1, 60, clock=clock)
    for _ in range(10):
        assert bucket.peek("a").allowed
    assert bucket.hit("a").allowed


def test_memory_is_bounded(clock: FakeClock) -> None:
    bucket = TokenBucketLimiter(2, 60, max_keys=100, clock=clock)
    for i in range(10_000):
        bucket.hit(f"10.0.{i // 256}.{i % 256}")
        assert len(bucket) <= 100
    # the most recent clients are the ones remembered
    assert not bucket.peek("10.0.39.15").remaining
    assert bucket.peek("10.0.0.0").remaining == 1  # evicted: a fresh bucket


def test_refilled_buckets_are_dropped_first(clock: FakeClock) -> None:
    bucket = TokenBucketLimiter(2, 60, max_keys=3, clock=clock)
    bucket.hit("old")
    clock.now += 120  # "old" has refilled
    bucket.hit("x")
    bucket.hit("y")
    bucket.hit("x")
    bucket.hit("z")  # full: "old" goes, not "y"
    assert len(bucket) == 3
    assert bucket.peek("y").remaining == 0


def test_invalid_limits_are_refused() -> None:
    for kwargs in (
        {"attempts": 0},
        {"per_s": 0},
        {"per_s": float("inf")},
        {"max_clients": 0},
        {"ipv6_prefix": 129},
        {"trusted_proxies": ("proxy.example",)},
    ):
        with pytest.raises(ValueError):
            RateLimit(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        TokenBucketLimiter(0, 1)


# -- clients ------------------------------------------------------------------------------


def nets(*cidrs: str) -> tuple[Any, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


def test_client_is_the_peer_without_trusted_proxies() -> None:
    assert str(client_address("192.0.2.7", "203.0.113.9")) == "192.0.2.7"  # XFF ignored
    assert client_address(None, None) is None
    assert client_address("not an address", None) is None


def test_client_behind_a_trusted_proxy_is_the_rightmost_untrusted_hop() -> None:
    trusted = nets("10.0.0.0/8")
    xff = "198.51.100.1, 203.0.113.9, 10.1.1.1"  # the first hop is what the client wrote
    assert str(client_address("10.0.0.2", xff, trusted)) == "203.0.113.9"
    assert str(client_address("10.0.0.2", "", trusted)) == "10.0.0.2"
    assert str(client_address("10.0.0.2", "garbage, 203.0.113.9", trusted)) == "203.0.113.9"
    assert str(client_address("10.0.0.2", "203.0.113.9, garbage", trusted)) == "10.0.0.2"
    # a peer that is not a trusted proxy cannot choose its address
    assert str(client_address("192.0.2.7", "203.0.113.9", trusted)) == "192.0.2.7"


def test_ipv6_clients_count_per_64_and_mapped_ipv4_as_ipv4() -> None:
    limiter = LoginRateLimiter()
    a = limiter.client_key("2001:db8:1:2::1")
    b = limiter.client_key("2001:db8:1:2:ffff:ffff:ffff:ffff")
    assert a == b == "2001:db8:1:2::/64"
    assert limiter.client_key("2001:db8:1:3::1") != a
    assert limiter.client_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert limiter.client_key("[2001:db8::1]:443") == "2001:db8::/64"
    assert limiter.client_key(None) == "unknown"


def mocked_login(app: web.Application, remote: str, xff: str = "") -> web.Request:
    headers = {"X-Forwarded-For": xff} if xff else {}
    request = make_mocked_request("POST", "/api/v1/auth/login", headers=headers, app=app)
    # make_mocked_request has no peer; the limiter reads request.remote
    return request.clone(remote=remote)


def test_login_attempt_counts_per_client_and_refunds_success(clock: FakeClock) -> None:
    app = web.Application()
    limiter = setup_login_rate_limit(app, RateLimit(attempts=2, per_s=120), clock=clock)
    login_attempt(mocked_login(app, "192.0.2.1"))
    login_attempt(mocked_login(app, "192.0.2.1")).succeeded()
    login_attempt(mocked_login(app, "192.0.2.1"))
    with pytest.raises(RateLimited) as refused:
        login_attempt(mocked_login(app, "192.0.2.1"))
    assert refused.value.status == 429
    assert refused.value.retry_after == 60
    response = refused.value.response()
    assert response.status == 429
    assert response.headers["Retry-After"] == "60"
    login_attempt(mocked_login(app, "192.0.2.2"))  # another client is not affected
    assert describe(limiter)["clients"] == 2


def test_login_attempt_behind_a_proxy(clock: FakeClock) -> None:
    app = web.Application()
    setup_login_rate_limit(
        app, RateLimit(attempts=1, per_s=60, trusted_proxies=("127.0.0.1",)), clock=clock
    )
    login_attempt(mocked_login(app, "127.0.0.1", "203.0.113.1"))
    login_attempt(mocked_login(app, "127.0.0.1", "203.0.113.2"))
    with pytest.raises(RateLimited):
        login_attempt(mocked_login(app, "127.0.0.1", "203.0.113.1"))


def test_missing_setup_fails_loudly() -> None:
    with pytest.raises(KeyError):
        login_attempt(mocked_login(web.Application(), "192.0.2.1"))


# -- the hook in the app ------------------------------------------------------------------


async def test_login_is_rate_limited_per_client(
    aiohttp_client: Callable[..., Any], web_settings: Settings, db_dsn: str, seeded: Seed
) -> None:
    app = create_app(web_settings, db_dsn, background=False)
    assert isinstance(app[LOGIN_LIMITER_KEY], LoginRateLimiter)  # create_app installs it
    app[LOGIN_LIMITER_KEY] = LoginRateLimiter(RateLimit(attempts=3, per_s=600))
    client = await aiohttp_client(app)

    async def api_login(username: str, password: str = "wrong") -> int:
        resp = await client.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        return resp.status

    # unknown names: no account lock-out gets in the way, only the client limit
    assert await api_login("nobody1") == 401
    assert await api_login("admin", PASSWORD) == 200  # a success gives its token back
    assert await api_login("nobody2") == 401
    assert await api_login("nobody3") == 401
    resp = await client.post("/api/v1/auth/login", json={"username": "x", "password": "y"})
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) >= 1
    assert (await resp.json())["error"]["code"] == "too_many_requests"
    # even the right password waits: the limit is checked before the password
    assert await api_login("admin", PASSWORD) == 429
    # the form log-in shares the limit
    client.session.cookie_jar.clear()  # logged out again (the success above set a cookie)
    resp = await client.get("/login")
    pre = (await resp.text()).split('name="_pre" value="')[1].split('"')[0]
    resp = await client.post(
        "/login",
        data={"_pre": pre, "username": "admin", "password": PASSWORD},
        allow_redirects=False,
    )
    assert resp.status in (401, 429)
    assert "envgrid_session" not in resp.cookies


@pytest.mark.parametrize(
    ("remote", "xff", "client"),
    [
        ("192.0.2.7", "", "192.0.2.7"),
        ("192.0.2.7", "203.0.113.9", "192.0.2.7"),  # not a trusted proxy: its header is ignored
        ("10.0.0.5", "203.0.113.9", "203.0.113.9"),  # the trusted proxy forwards the client
        ("10.0.0.5", "203.0.113.9, 10.0.0.6", "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "", "2001:db8:1:2::/64"),
    ],
)
def test_every_per_client_limit_sees_the_same_client(remote: str, xff: str, client: str) -> None:
    """The public complaint limit keys on request_client(), like the log-in limit."""
    from web.ratelimit import request_client

    app = web.Application()
    setup_login_rate_limit(app, RateLimit(trusted_proxies=("10.0.0.0/24",)))
    assert request_client(mocked_login(app, remote, xff)) == client
