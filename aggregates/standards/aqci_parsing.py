"""Parsing the ``"kind": "aqci"`` standards document (HJ 663 composite index): the indices,
their statistics and weights (the format is described in :mod:`aggregates.standards`)."""

from __future__ import annotations

from fractions import Fraction
from typing import cast

from aggregates.standards.reader import Reader, header_fields, pointer_to, verified_at
from aggregates.standards.tables import (
    AQCI_ROUNDINGS,
    AqciEntry,
    AqciSource,
    AqciStatistic,
    AqciTable,
    Standard,
)

__all__ = ["parse_aqci"]


def parse_aqci(ctx: Reader, doc: dict[str, object], header: Standard) -> AqciTable:
    """The ``indices`` of a composite-index (HJ 663) document, validated."""
    unverified = header.unverified_values
    items = ctx.lst("/indices", doc["indices"], min_len=1)
    entries: list[AqciEntry] = []
    for i, raw in enumerate(items):
        p = pointer_to("/indices", i)
        eo = ctx.obj(
            p,
            raw,
            required=("pollutant", "statistic", "of", "s", "unit", "statistic_decimals"),
            optional=("percentile", "weight"),
        )
        pol = ctx.string(pointer_to(p, "pollutant"), eo["pollutant"])
        if any(e.pollutant == pol for e in entries):
            raise ctx.err(pointer_to(p, "pollutant"), f"duplicate pollutant {pol!r}")
        stat = ctx.string(pointer_to(p, "statistic"), eo["statistic"])
        if stat not in ("mean", "percentile"):
            raise ctx.err(pointer_to(p, "statistic"), "must be 'mean' or 'percentile'")
        pct: Fraction | None = None
        if stat == "percentile":
            if "percentile" not in eo:
                raise ctx.err(
                    pointer_to(p, "percentile"), "required when statistic is 'percentile'"
                )
            pct = ctx.number(pointer_to(p, "percentile"), eo["percentile"])
            if not 0 <= pct <= 100:
                raise ctx.err(pointer_to(p, "percentile"), "must be between 0 and 100")
        elif "percentile" in eo:
            raise ctx.err(
                pointer_to(p, "percentile"), "only allowed when statistic is 'percentile'"
            )
        src = ctx.string(pointer_to(p, "of"), eo["of"])
        if src not in ("daily_mean", "mda8"):
            raise ctx.err(pointer_to(p, "of"), "must be 'daily_mean' or 'mda8'")
        s = ctx.number(pointer_to(p, "s"), eo["s"])
        if s <= 0:
            raise ctx.err(pointer_to(p, "s"), "must be positive")
        weight = (
            ctx.number(pointer_to(p, "weight"), eo["weight"]) if "weight" in eo else Fraction(1)
        )
        if weight <= 0:
            raise ctx.err(pointer_to(p, "weight"), "must be positive")
        entries.append(
            AqciEntry(
                pollutant=pol,
                statistic=cast(AqciStatistic, stat),
                percentile=pct,
                source=cast(AqciSource, src),
                s=s,
                unit=ctx.string(pointer_to(p, "unit"), eo["unit"]),
                weight=weight,
                statistic_decimals=ctx.integer(
                    pointer_to(p, "statistic_decimals"), eo["statistic_decimals"], minimum=0
                ),
                verified=verified_at(p, unverified),
            )
        )
    rounding = ctx.string("/rounding", doc["rounding"])
    if rounding not in AQCI_ROUNDINGS:
        raise ctx.err("/rounding", f"must be one of {', '.join(AQCI_ROUNDINGS)}")
    return AqciTable(
        **header_fields(header),
        entries=tuple(entries),
        decimals=ctx.integer("/decimals", doc["decimals"], minimum=0),
        rounding=rounding,
    )
