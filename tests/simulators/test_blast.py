"""The blast load generator: its values move smoothly, and ``rate`` paces it (against a
loopback receiver that acks every frame)."""

from __future__ import annotations

import asyncio
import itertools
import random
import re

import pytest

from protocol.sm4 import parse_key
from simulators import station_identities
from simulators.blast import BlastConfig, _values_for, run_blast

from .fake_platform import FakePlatform

FACTORS = ("a21026", "a21004", "a21005", "a05024", "a34002", "a34004")


def test_consecutive_values_do_not_jump() -> None:
    """Each factor loops smoothly: no step between consecutive frames is a jump at the
    alert engine's default bound (|Δ| > 1.5 × the smaller value)."""
    for seed in range(50):
        sets = _values_for("22", FACTORS, random.Random(seed))
        series: dict[str, list[float]] = {}
        for text in sets + sets[:1]:  # and the wrap-around
            for code, value in re.findall(r"(\w+)-Rtd=([\d.]+)", text):
                series.setdefault(code, []).append(float(value))
        for code, values in series.items():
            for a, b in itertools.pairwise(values):
                assert abs(b - a) <= 1.5 * min(a, b) or abs(b - a) <= 0.2, (seed, code, a, b)


class _Acker(asyncio.Protocol):
    """Acks every frame (one per line end; the blast counts ``CN=9014``)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.transport.write(b"##0000QN=1;CN=9014;&&0000\r\n" * data.count(b"\n"))


async def test_rate_paces_the_fleet() -> None:
    server = await asyncio.get_running_loop().create_server(_Acker, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await run_blast(
            BlastConfig(port=port, stations=20, window=8, duration=2.0, drain=2.0, rate=300.0)
        )
    finally:
        server.close()
    assert result.connected == 20 and not result.errors
    assert 450 <= result.sent <= 700, result.sent  # 300 frames/s for 2 s
    assert result.acked == result.sent


async def test_mixed_editions_with_encryption_decode_with_the_listed_keys() -> None:
    mix = "2017:0.5,2025:0.5"
    ids = station_identities(10, edition=mix)
    keys = {i.mn: parse_key(i.sm4_key) for i in ids if i.sm4_key}
    assert 0 < len(keys) < 10
    async with FakePlatform(sm4_keys=lambda mn: [keys[mn]] if mn in keys else []) as platform:
        result = await run_blast(
            BlastConfig(
                port=platform.port,
                stations=10,
                window=4,
                duration=None,
                max_frames=200,
                drain=2.0,
                edition=mix,
                encrypt=True,
            )
        )
    assert not result.errors and result.sent == result.acked == 200
    assert platform.errors == []  # CRC over the plaintext checks out after decryption
    frames = platform.uploads(2011)
    assert len(frames) == 200
    for f in frames:
        assert (f.edition, f.flag, f.encrypted) == (
            ("2025", 9, True) if f.mn in keys else ("2017", 5, False)
        )
        assert set(f.values) == set(FACTORS)


class _Dying(asyncio.Protocol):
    """Acks the first frame of a connection, then closes it: a server that goes away."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.transport.write(b"##0000QN=1;CN=9014;&&0000\r\n")
        self.transport.close()


async def test_a_blast_without_a_deadline_ends_when_every_connection_is_lost() -> None:
    server = await asyncio.get_running_loop().create_server(_Dying, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with asyncio.timeout(20):
            result = await run_blast(
                BlastConfig(
                    port=port, stations=5, window=1, duration=None, max_frames=10_000, drain=1.0
                )
            )
    finally:
        server.close()
    assert result.connected == 5 and result.lost_connections == 5
    assert result.errors == ["all 5 connections lost while sending"]
    assert result.sent < 10_000


def test_blast_refuses_what_it_cannot_send() -> None:
    with pytest.raises(ValueError, match="not 2005"):
        BlastConfig(edition="2005:1,2017:1")
    with pytest.raises(ValueError, match="encrypt needs"):
        BlastConfig(encrypt=True)
    with pytest.raises(ValueError, match="unknown edition"):
        BlastConfig(edition="2017:1,2030:1")
