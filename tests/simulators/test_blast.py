"""The blast load generator: its values move smoothly, and ``rate`` paces it (against a
loopback receiver that acks every frame)."""

from __future__ import annotations

import asyncio
import itertools
import random
import re

from simulators.blast import BlastConfig, _values_for, run_blast

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
