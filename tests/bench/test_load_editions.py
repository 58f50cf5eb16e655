"""The benchmark registers HJ 212-2025 stations with their edition and SM4 key (so the
server decrypts them), and reads ``--set simulate.…`` for the simulated stations."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import asyncpg
import pytest

from bench import load
from bench.cli import split_simulate
from ingest.registry import StationRegistry
from protocol.sm4 import parse_key
from simulators import station_identities


@dataclass
class _Server:
    database_dsn: str


async def test_a_mixed_fleet_is_registered_with_editions_and_keys(
    db_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "KEY_RELOAD_S", 0.0)
    mix = "2017:0.5,2025:0.5"
    await load.register(_Server(db_dsn), 30, edition=mix)  # type: ignore[arg-type]
    ids = {i.mn: i for i in station_identities(30, edition=mix)}
    conn = await asyncpg.connect(db_dsn)
    try:
        rows = await conn.fetch("SELECT mn, registered_edition, sm4_key FROM stations")
        registry = StationRegistry()
        await registry.load(conn)
    finally:
        await conn.close()
    assert {r["mn"] for r in rows} == set(ids)
    editions = {r["registered_edition"] for r in rows}
    assert editions == {"2017", "2025"}
    for r in rows:
        i = ids[r["mn"]]
        assert r["registered_edition"] == i.edition and r["sm4_key"] == i.sm4_key
        # what the ingest decoder will decrypt with: the simulator's key
        expected = (parse_key(i.sm4_key),) if i.sm4_key else ()
        assert registry.sm4_keys(i.mn) == expected


async def test_a_2017_fleet_is_registered_as_before(db_dsn: str) -> None:
    await load.register(_Server(db_dsn), 5)  # type: ignore[arg-type]
    conn = await asyncpg.connect(db_dsn)
    try:
        rows = await conn.fetch("SELECT registered_edition, sm4_key FROM stations")
    finally:
        await conn.close()
    assert len(rows) == 5 and all(r["registered_edition"] is r["sm4_key"] is None for r in rows)


def _args(*pairs: str) -> argparse.Namespace:
    return argparse.Namespace(set=list(pairs))


def test_simulate_settings_go_to_the_stations_not_the_server() -> None:
    args = _args(
        "ingest.batch_ms=100",
        "simulate.edition_mix=2017:0.5, 2025:0.5",
        "simulate.encrypt=true",
    )
    split_simulate(args, ["throughput"])
    assert args.set == ["ingest.batch_ms=100"]
    assert args.simulate == {"edition": "2017:0.5,2025:0.5", "encrypt": True}
    plain = _args("ingest.batch_ms=100")
    split_simulate(plain, ["codec"])
    assert plain.simulate == {} and plain.set == ["ingest.batch_ms=100"]


@pytest.mark.parametrize(
    ("pairs", "names", "message"),
    [
        (["simulate.edition_mix=2017:1,2031:1"], ["throughput"], "unknown edition '2031'"),
        (["simulate.edition_mix=2017:0"], ["throughput"], "must sum to more than 0"),
        (["simulate.encrypt=maybe"], ["throughput"], "expected true or false"),
        (["simulate.encrypt=true"], ["throughput"], "encrypt needs HJ 212-2025"),
        (["simulate.edition=mix"], ["burst"], "not 2005"),
        (["simulate.heartbeat=30"], ["throughput"], "sends no heartbeats"),
        (["simulate.speed=3"], ["latency"], "unknown simulator setting"),
        (["simulate.edition=2025"], ["codec"], "only the server scenarios"),
    ],
)
def test_bad_simulate_settings_are_refused(
    pairs: list[str], names: list[str], message: str
) -> None:
    with pytest.raises(SystemExit, match=message):
        split_simulate(_args(*pairs), names)
