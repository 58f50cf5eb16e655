"""The 08:30 daily push: one message per receiver, in the channels the receiver chose.

Who: the receivers with responsibilities (``alert_responsibilities``).  Receivers that
belong to one dashboard user (``alert_receivers.user_id``) are that user's channels — an
email address, a phone for SMS, a WeCom robot — and the user is *one* receiver of the
push: one digest, built from the responsibilities of all their receivers, sent through
each of their enabled receivers whose ``settings.daily_push`` is not false.  A receiver
without a user is a receiver on its own.

What (:mod:`alerts.daily_facts`, cut to the receiver's scope):

* the AQCI ranking: a station's line; a region's line, then its stations; an area's grids,
  then its stations; ``all``: every region (lists capped at ``alerts.message_max_items``);
* the day's exceedances of the receiver's stations, worst ratio first;
* open cases past their deadline at the receiver's stations or in its areas;
* offline stations among the receiver's stations.

The idempotency key is (day, receiver id), so a restart or a second run never sends the
day's push twice through a channel.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final

import asyncpg

from aggregates.standards_used import unverified_mark

from .config import AlertConfig, Receiver
from .daily_facts import DayFacts, RankRow, load_day_facts
from .daily_render import Digest, render_daily
from .outbox import idempotency_key, queue_message

__all__ = ["USER_NAMES_SQL", "Scope", "channels_of", "digest_for", "push_daily", "scopes"]

log = logging.getLogger(__name__)

Person = tuple[str, int]  # ("user", user id) or ("receiver", receiver id)

#: the names the digests of users are addressed to
USER_NAMES_SQL: Final = """
SELECT id, COALESCE(NULLIF(display_name, ''), username) AS name FROM web_users
WHERE id = ANY($1::integer[])
"""


@dataclass(slots=True)
class Scope:
    """What one receiver answers for."""

    stations: set[int] = field(default_factory=set)
    regions: list[str] = field(default_factory=list)
    areas: list[int] = field(default_factory=list)
    station_keys: list[int] = field(default_factory=list)
    everything: bool = False


@dataclass(slots=True)
class _Index:
    """Stations by region and by area, grids by area: one pass over the stations."""

    by_region: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_area: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    grids: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def of(cls, config: AlertConfig) -> _Index:
        index = cls()
        for s in config.stations.values():
            index.by_region[s.region].add(s.id)
            for area in s.areas:
                index.by_area[area].add(s.id)
                if s.grid_id is not None:
                    index.grids[area].add(s.grid_id)
        return index


def _person(receiver: Receiver) -> Person:
    return ("user", receiver.user_id) if receiver.user_id is not None else ("receiver", receiver.id)


def scopes(config: AlertConfig, index: _Index | None = None) -> dict[Person, Scope]:
    """Receiver (user or lone receiver) → the union of its responsibilities."""
    index = index or _Index.of(config)
    out: dict[Person, Scope] = defaultdict(Scope)
    for receiver_id, _role, scope, key in config.responsibility_rows:
        receiver = config.receivers.get(receiver_id)
        if receiver is None:
            continue
        mine = out[_person(receiver)]
        if scope == "station" and key.isascii() and key.isdigit():
            mine.station_keys.append(int(key))
            mine.stations.add(int(key))
        elif scope == "region":
            mine.regions.append(key)
            mine.stations |= index.by_region.get(key, set())
        elif scope == "area" and key.isascii() and key.isdigit():
            mine.areas.append(int(key))
            mine.stations |= index.by_area.get(int(key), set())
        elif scope == "all":
            mine.everything = True
            mine.stations |= set(config.stations)
    return dict(out)


def channels_of(config: AlertConfig, person: Person) -> list[Receiver]:
    """The enabled receivers through which ``person`` gets the push (its choice:
    ``settings.daily_push``, default true)."""
    kind, ident = person
    found = [
        r
        for r in config.receivers.values()
        if (r.user_id == ident if kind == "user" else r.id == ident and r.user_id is None)
    ]
    return sorted(
        (r for r in found if r.enabled and r.settings.get("daily_push", True) is not False),
        key=lambda r: r.id,
    )


def _ranking_lines(
    config: AlertConfig, facts: DayFacts, scope: Scope, index: _Index
) -> list[RankRow]:
    rows = facts.ranking

    def best_first(items: list[RankRow]) -> list[RankRow]:
        return sorted(items, key=lambda r: (r.rank is None, r.rank or 0, r.key))

    def station(sid: int) -> RankRow | None:
        info = config.stations.get(sid)
        row = rows.get(("station", info.mn)) if info is not None else None
        return row if row is not None else rows.get(("station", str(sid)))

    def stations(ids: set[int]) -> list[RankRow]:
        return best_first([r for s in ids if (r := station(s)) is not None])

    out: list[RankRow] = []
    if scope.everything:
        out += best_first([r for (sc, _), r in rows.items() if sc == "region"])
    for region in scope.regions:
        if ("region", region) in rows:
            out.append(rows[("region", region)])
        out += stations(index.by_region.get(region, set()))
    for area in scope.areas:
        keys = [config.area_codes.get(g, str(g)) for g in index.grids.get(area, ())]
        out += best_first([rows[("grid", k)] for k in keys if ("grid", k) in rows])
        out += stations(index.by_area.get(area, set()))
    out += [r for k in scope.station_keys if (r := station(k)) is not None]
    seen: set[tuple[str, str]] = set()
    unique = []
    for r in out:
        if (r.scope, r.key) not in seen:
            seen.add((r.scope, r.key))
            unique.append(r)
    return unique


def digest_for(
    config: AlertConfig,
    facts: DayFacts,
    scope: Scope,
    receiver: str,
    notes: list[str],
    index: _Index | None = None,
) -> Digest:
    """The receiver's cut of the day's facts."""
    areas = set(scope.areas)
    overdue = [
        c
        for c in facts.overdue
        if scope.everything
        or (c.station_id is not None and c.station_id in scope.stations)
        or areas.intersection(c.areas)
    ]
    return Digest(
        facts.day,
        facts.now,
        receiver,
        _ranking_lines(config, facts, scope, index or _Index.of(config)),
        [e for e in facts.exceedances if e.station_id in scope.stations],
        overdue,
        [o for o in facts.offline if o.station_id in scope.stations],
        notes,
    )


async def push_daily(
    conn: asyncpg.Pool | asyncpg.Connection,
    config: AlertConfig,
    day: date,
    now: datetime | None = None,
) -> int:
    """Queue the push of ``day``; returns how many messages were queued."""
    now = now or datetime.now(config.tz)
    facts = await load_day_facts(conn, config, day, now)
    if not facts.ranking:
        log.warning("daily push: no ranking stored for %s (aggregates)", day.isoformat())
    mark = unverified_mark(config.registry.aqci(day))
    notes = [f"注：{mark['code']} {mark['mark']}：{mark['reason']}。"] if mark else []
    index = _Index.of(config)
    people = scopes(config, index)
    users = [ident for kind, ident in people if kind == "user"]
    names = {r["id"]: r["name"] for r in await conn.fetch(USER_NAMES_SQL, users)}
    queued = 0
    for person, scope in sorted(people.items()):
        targets = channels_of(config, person)
        if not targets:
            continue
        name = names.get(person[1], "") if person[0] == "user" else ""
        name = name or targets[0].name
        digest = digest_for(config, facts, scope, name, notes, index)
        message = render_daily(
            digest,
            config,
            max_items=config.alerts.message_max_items,
            dashboard_url=config.alerts.dashboard_url,
        )
        for receiver in targets:
            key = idempotency_key("ranking", day.isoformat(), receiver.id)
            if await queue_message(
                conn, key=key, receiver=receiver, kind="ranking", message=message
            ):
                queued += 1
    log.info("daily push for %s: %d messages queued", day.isoformat(), queued)
    return queued
