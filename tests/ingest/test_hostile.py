"""Hostile input: each attack is counted, logged and contained while the others are served."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from protocol import encode_upload
from store.stations import NewStation

from .conftest import StationClient

GOOD = NewStation("GOOD0000000000000000001", "123456", "good", "22")
OTHER = NewStation("OTHER000000000000000001", "123456", "other", "22")


def frame(mn: str, i: int, pw: str = "123456") -> bytes:
    return encode_upload(2011, st="22", mn=mn, pw=pw, qn=f"20261121100000{i:03d}",
                         data_time=f"202611211{i // 60:01d}{i % 60:02d}00",
                         values={"a21026": {"Rtd": "8", "Flag": "N"}})


async def served_within(client: StationClient, mn: str, i: int, limit_s: float = 1.0) -> float:
    """Send one frame from a legitimate station, return the time its ack took."""
    start = time.perf_counter()
    before = len(client.received)
    await client.send(frame(mn, i))
    await client.expect(before + 1, timeout=limit_s * 5)
    took = time.perf_counter() - start
    assert took < limit_s, f"a legitimate station waited {took:.2f} s during the attack"
    return took


async def test_slowloris_is_closed_and_others_are_served(
    start_worker: Callable[..., Any], register: Callable[..., Any]
) -> None:
    await register(GOOD)
    worker = await start_worker(frame_timeout_s=1.0, first_frame_timeout_s=30.0)
    good = await StationClient.open(worker.bound_port)
    slow = [await StationClient.open(worker.bound_port) for _ in range(20)]
    payload = frame(GOOD.mn, 0)[:-2]  # never the CRLF
    async def dribble(client: StationClient) -> None:
        for byte in payload:
            if client.writer.is_closing():
                return
            try:
                client.writer.write(bytes([byte]))
                await client.writer.drain()
            except OSError:  # closed by the server, as it should be
                return
            await asyncio.sleep(0.05)
    tasks = [asyncio.create_task(dribble(c)) for c in slow]
    for i in range(1, 6):
        await served_within(good, GOOD.mn, i)
        await asyncio.sleep(0.5)
    closed = await asyncio.gather(*(c.closed_by_peer(timeout=15) for c in slow),
                                  return_exceptions=True)
    assert all(c is True or isinstance(c, OSError) for c in closed), closed
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert worker.dispatcher.rejected["frame_timeout"] == 20
    for client in (good, *slow):
        await client.close()


async def test_silent_connections_without_a_frame_are_closed(
    start_worker: Callable[..., Any], register: Callable[..., Any]
) -> None:
    worker = await start_worker(first_frame_timeout_s=1.0)
    silent = await StationClient.open(worker.bound_port)
    assert await silent.closed_by_peer(timeout=10)
    assert worker.dispatcher.rejected["no_valid_frame"] == 1
    await silent.close()


def _connect_from(address: str, port: int) -> socket.socket:
    sock = socket.socket()
    sock.bind((address, 0))
    sock.connect(("127.0.0.1", port))
    return sock


async def test_connection_flood_from_one_address_is_refused(
    start_worker: Callable[..., Any], register: Callable[..., Any]
) -> None:
    await register(GOOD)
    worker = await start_worker(max_connections_per_ip=5)
    flood = [_connect_from("127.0.0.9", worker.bound_port) for _ in range(25)]
    await asyncio.sleep(0.5)
    good = await StationClient.open(worker.bound_port)  # from 127.0.0.1
    await served_within(good, GOOD.mn, 1)
    assert worker.dispatcher.rejected["connection_limit"] == 20
    assert len(worker.dispatcher.connections) == 5 + 1
    for sock in flood:
        sock.close()
    await good.close()


async def test_connect_rate_from_one_address_is_limited(
    start_worker: Callable[..., Any], register: Callable[..., Any]
) -> None:
    worker = await start_worker(max_connects_per_ip_per_s=5.0)
    socks = [_connect_from("127.0.0.8", worker.bound_port) for _ in range(40)]
    await asyncio.sleep(0.5)
    refused = worker.dispatcher.rejected["connect_rate"]
    assert 20 <= refused <= 35, refused  # a burst of ~10, then 5/s
    for sock in socks:
        sock.close()


@pytest.mark.parametrize("attack", ["giant_length", "binary_garbage", "wrong_password_claim"])
async def test_hostile_bytes_are_counted_and_contained(
    attack: str, start_worker: Callable[..., Any], register: Callable[..., Any]
) -> None:
    await register(GOOD, OTHER)
    worker = await start_worker()
    good = await StationClient.open(worker.bound_port)
    await served_within(good, GOOD.mn, 1)  # GOOD's session is bound
    bad = await StationClient.open(worker.bound_port)
    if attack == "giant_length":
        bad.writer.write(b"##9999" + b"A" * 50_000)
    elif attack == "binary_garbage":
        bad.writer.write(os.urandom(200_000))
    else:  # frames claiming GOOD's MN with a wrong password
        for i in range(10):
            bad.writer.write(frame(GOOD.mn, 100 + i, pw="000000"))
    await bad.writer.drain()
    for i in range(2, 6):
        await served_within(good, GOOD.mn, i)
    await asyncio.sleep(0.3)
    d = worker.dispatcher
    if attack == "giant_length":
        assert d.decoder_errors["oversize"] >= 1
    elif attack == "binary_garbage":
        assert sum(d.decoder_errors.values()) >= 1
    else:
        assert d.rejected["bad_password"] == 10
        assert d.sessions[GOOD.mn].peer != bad.writer.get_extra_info("sockname")
    # bounded: no connection holds more than one frame's worth of bytes
    assert all(c.decoder.buffered <= 9999 + 13 for c in d.connections)
    assert await bad.quiet(0.3) == []  # nothing hostile is acked
    for client in (good, bad):
        await client.close()


async def test_a_full_worker_stops_accepting_and_starts_again(
    start_worker: Callable[..., Any],
) -> None:
    """At ingest.max_connections_per_worker the listener closes (with SO_REUSEPORT the
    kernel then sends new connections to the other workers); it opens again when the
    worker is down to ``capacity_low`` connections."""
    worker = await start_worker(max_connections_per_worker=4)
    assert (worker.capacity, worker.capacity_low) == (4, 1)
    port = worker.bound_port
    held = [_connect_from("127.0.0.1", port) for _ in range(4)]
    await asyncio.sleep(0.3)
    assert len(worker.dispatcher.connections) == 4
    assert worker.dispatcher.listener_paused
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))  # the only worker: refused, the client retries
    for sock in held[:3]:
        sock.close()
    await asyncio.sleep(0.3)
    assert len(worker.dispatcher.connections) == 1
    assert not worker.dispatcher.listener_paused
    again = _connect_from("127.0.0.1", port)
    await asyncio.sleep(0.2)
    assert len(worker.dispatcher.connections) == 2
    worker.metrics.update()
    again.close()
    held[3].close()


@pytest.mark.parametrize(
    ("configured", "expected"),
    [(4, (4, 1)), (1000, (1000, 900)), (19_500, (19_500, 18_525))],
)
def test_connection_capacity_of_a_worker(configured: int, expected: tuple[int, int]) -> None:
    from ingest.server import connection_capacity
    from ingest.settings import IngestSettings

    assert connection_capacity(IngestSettings(max_connections_per_worker=configured)) == expected


def test_default_capacity_leaves_descriptors_for_the_rest() -> None:
    import resource

    from ingest.server import connection_capacity
    from ingest.settings import IngestSettings

    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    capacity, low = connection_capacity(IngestSettings())
    assert capacity == max(100, soft - 500)
    assert low < capacity
