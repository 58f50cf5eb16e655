"""Per-address admission: how many connections one peer address may hold, how fast it
may open new ones.

Stations behind a carrier's NAT share addresses, so both limits are off by default
(``ingest.max_connections_per_ip``, ``ingest.max_connects_per_ip_per_s``); an operator
who knows the field sets them.  Memory is bounded: an address is forgotten once it
holds no connection and its rate bucket is full again.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AddressGuard"]


@dataclass(slots=True)
class _Address:
    open: int = 0
    tokens: float = 0.0
    stamp: float = 0.0


class AddressGuard:
    def __init__(self, *, max_connections: int, connects_per_s: float, burst: float = 0.0) -> None:
        self.max_connections = max_connections
        self.rate = connects_per_s
        self.burst = burst or max(1.0, connects_per_s * 2)
        self._addresses: dict[str, _Address] = {}

    @property
    def enabled(self) -> bool:
        return self.max_connections > 0 or self.rate > 0

    def admit(self, address: str, now: float) -> str | None:
        """Count a new connection from ``address``; returns why it is refused, or None."""
        if not self.enabled:
            return None
        entry = self._addresses.get(address)
        if entry is None:
            entry = self._addresses[address] = _Address(0, self.burst, now)
        if self.rate > 0:
            entry.tokens = min(self.burst, entry.tokens + (now - entry.stamp) * self.rate)
            entry.stamp = now
            if entry.tokens < 1.0:
                return "connect_rate"
            entry.tokens -= 1.0
        if self.max_connections > 0 and entry.open >= self.max_connections:
            return "connection_limit"
        entry.open += 1
        return None

    def release(self, address: str) -> None:
        entry = self._addresses.get(address)
        if entry is None:
            return
        entry.open = max(0, entry.open - 1)

    def forget_idle(self, now: float) -> int:
        """Drop addresses with no connection and a full bucket (bounded memory)."""
        idle = [
            a
            for a, e in self._addresses.items()
            if e.open == 0
            and (self.rate <= 0 or e.tokens + (now - e.stamp) * self.rate >= self.burst)
        ]
        for address in idle:
            del self._addresses[address]
        return len(idle)

    def _full(self, entry: _Address, now: float) -> bool:
        return self.rate <= 0 or entry.tokens + (now - entry.stamp) * self.rate >= self.burst

    def __len__(self) -> int:
        return len(self._addresses)
