"""Settings of the web dashboard (section ``[web]`` of envgrid.toml)."""

from __future__ import annotations

from dataclasses import dataclass

from store.settings import require

__all__ = ["WebSettings"]


@dataclass(frozen=True, slots=True)
class WebSettings:
    """The aiohttp dashboard and API."""

    host: str = "127.0.0.1"
    port: int = 8080

    def __post_init__(self) -> None:
        require(0 <= self.port <= 65535, f"web.port must be 1..65535 (got {self.port})")
