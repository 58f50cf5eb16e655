"""Which protocol edition each simulated station speaks, and its SM4 key (HJ 212-2025).

A fleet's ``edition`` is one of

* ``"2017"``, ``"2005"``, ``"2025"`` — every station speaks that edition;
* ``"mix"`` — half 2005, half 2017 (each station draws one, seeded);
* a weighted mix ``"2017:0.5,2025:0.5"`` (``--edition-mix``): each station draws an
  edition with these weights (relative, need not sum to 1), seeded by ``(seed, index)``,
  so every process of a run and the benchmark's registration agree.

``"mix"`` is ``"2005:0.5,2017:0.5"``: the same draw, the same fleet as before weighted
mixes existed.

A 2025 station has an SM4 key (HJ 212-2025 §6.4: 16 bytes, registered with the
platform): 16 bytes of BLAKE2b over the seed and the MN, so ``envgrid simulate
--list-stations`` can hand the same keys to ``envgrid station import``.
"""

from __future__ import annotations

import hashlib
import math
from typing import Final

from .noise import seed_of, unit_at

__all__ = [
    "EDITIONS",
    "EditionMix",
    "edition_at",
    "editions_of",
    "parse_edition_mix",
    "sm4_key_of",
]

#: the editions a simulated station can speak
EDITIONS: Final = ("2005", "2017", "2025")
EditionMix = tuple[tuple[str, float], ...]
_MIX: Final[EditionMix] = (("2005", 0.5), ("2017", 0.5))


def parse_edition_mix(text: str) -> EditionMix:
    """``"2017:0.5,2025:0.5"`` → ``(("2017", 0.5), ("2025", 0.5))``; ValueError with a
    message saying what to write instead."""
    example = "e.g. 2017:0.5,2025:0.5"
    items = [p.strip() for p in text.split(",") if p.strip()]
    if not items:
        raise ValueError(f"edition mix {text!r} is empty; give EDITION:WEIGHT,… ({example})")
    out: dict[str, float] = {}
    for item in items:
        edition, colon, weight = item.partition(":")
        edition = edition.strip()
        if edition not in EDITIONS:
            raise ValueError(
                f"edition mix: unknown edition {edition!r} in {item!r}"
                f" (known: {', '.join(EDITIONS)}; {example})"
            )
        if not colon:
            raise ValueError(f"edition mix: {item!r} has no weight ({example})")
        try:
            value = float(weight)
        except ValueError:
            raise ValueError(
                f"edition mix: weight {weight.strip()!r} of {edition} is not a number"
            ) from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(
                f"edition mix: weight of {edition} must be a number ≥ 0 (got {weight.strip()})"
            )
        if edition in out:
            raise ValueError(f"edition mix: {edition} is given twice")
        out[edition] = value
    if not sum(out.values()) > 0:
        raise ValueError(f"edition mix {text!r}: the weights must sum to more than 0 ({example})")
    return tuple(out.items())


def editions_of(choice: str) -> EditionMix:
    """The weighted editions a fleet's ``edition`` setting stands for (ValueError if it
    is none of the forms in the module docstring)."""
    if choice in EDITIONS:
        return ((choice, 1.0),)
    if choice == "mix":
        return _MIX
    if ":" in choice:
        return parse_edition_mix(choice)
    raise ValueError(
        f"edition must be 2017, 2005, 2025, mix or a weighted mix such as"
        f" 2017:0.5,2025:0.5 (got {choice!r})"
    )


def edition_at(choice: str, seed: int, index: int) -> str:
    """The edition station ``index`` of a fleet with ``edition = choice`` speaks."""
    if choice in EDITIONS:
        return choice
    mix = editions_of(choice)
    total = sum(w for _, w in mix)
    u = unit_at(seed_of(seed, "edition"), index) * total
    upto = 0.0
    for edition, weight in mix:
        upto += weight
        if u < upto:
            return edition
    return next(e for e, w in reversed(mix) if w > 0)


def sm4_key_of(seed: int, mn: str) -> bytes:
    """The SM4 key (16 bytes) of the 2025 station ``mn`` in a fleet with ``seed``."""
    return hashlib.blake2b(f"{seed}:{mn}".encode(), digest_size=16, person=b"envgrid-sm4").digest()
