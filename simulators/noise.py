"""Deterministic randomness: counter-based random numbers and smooth value noise.

Theory of operation
-------------------
Every random quantity of the simulator is a pure function of integers: a seed
(derived from ``--seed``, a station index, a factor index …) and a counter or a
time.  ``mix64`` is the SplitMix64 finaliser; feeding it ``hash_ints(seed, k)``
gives an independent 64-bit value for each ``k``.  Nothing here keeps a
Mersenne-Twister state (2.5 KB each — too much for 50,000 stations), and the
same seed gives the same values in any process, in any order of evaluation:

* :class:`CounterRandom` — a tiny generator (two ints) for sequences of draws
  (fault decisions, jitter): the n-th draw is ``mix64(seed + n·γ)``;
* :func:`gauss_at` — an independent N(0, 1) for any (seed, integer) pair: the
  per-sample measurement noise is ``gauss_at(factor_seed, int(t))``;
* :class:`SmoothNoise` — value noise: N(0, 1) knots at a fixed spacing,
  joined with a smoothstep, summed over a few octaves.  It is a random walk
  that can be evaluated at any time without replaying the past, which is what
  the weather of a region, a plant's load or a river's quality need, and what
  lets history requests recompute old periods exactly.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Sequence
from typing import TypeVar

__all__ = [
    "CounterRandom",
    "SmoothNoise",
    "gauss_at",
    "hash_ints",
    "mix64",
    "seed_of",
    "unit_at",
]

T = TypeVar("T")

_M64 = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15
_TWO_PI = 2.0 * math.pi
_INV_2_32 = 1.0 / 4294967296.0
_INV_2_53 = 1.0 / 9007199254740992.0


def mix64(x: int) -> int:
    """SplitMix64 finaliser: a well-mixed 64-bit value for any integer."""
    x = (x + _GAMMA) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def hash_ints(*parts: int) -> int:
    """One 64-bit value from several integers (order matters)."""
    h = 0x243F6A8885A308D3
    for part in parts:
        h = mix64(h ^ (part & _M64))
    return h


@functools.lru_cache(maxsize=4096)
def _string_seed(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def seed_of(*parts: int | str) -> int:
    """A stable 64-bit seed from ints and strings (strings through BLAKE2b, so the
    result does not depend on ``PYTHONHASHSEED``)."""
    return hash_ints(*(_string_seed(p) if isinstance(p, str) else p for p in parts))


def _unit(h: int) -> float:
    return (h >> 11) * _INV_2_53


def _gauss(h: int) -> float:
    """Box–Muller on the two 32-bit halves of ``h``."""
    u1 = ((h >> 32) + 1) * _INV_2_32  # (0, 1]
    u2 = (h & 0xFFFFFFFF) * _INV_2_32
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(_TWO_PI * u2)


def unit_at(seed: int, k: int) -> float:
    """Uniform [0, 1) for the pair (seed, k)."""
    return _unit(mix64(seed ^ mix64(k)))


def gauss_at(seed: int, k: int) -> float:
    """Standard normal for the pair (seed, k)."""
    return _gauss(mix64(seed ^ mix64(k)))


class CounterRandom:
    """A counter-based generator: deterministic, two ints of state."""

    __slots__ = ("_n", "_seed")

    def __init__(self, seed: int) -> None:
        self._seed = seed & _M64
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return mix64((self._seed + self._n * _GAMMA) & _M64)

    def random(self) -> float:
        """Uniform [0, 1)."""
        return _unit(self._next())

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def randint(self, low: int, high: int) -> int:
        """Integer in [low, high] (both inclusive)."""
        return low + int(self.random() * (high - low + 1))

    def choice(self, items: Sequence[T]) -> T:
        if not items:
            raise IndexError("choice from an empty sequence")
        return items[int(self.random() * len(items))]

    def gauss(self, mu: float = 0.0, sigma: float = 1.0) -> float:
        return mu + sigma * _gauss(self._next())


class SmoothNoise:
    """Smooth N(0, ~1) noise of time: value noise over ``octaves``.

    ``octaves`` are (knot spacing in seconds, weight) pairs; knots are N(0, 1)
    draws of (seed, octave, knot index) joined by a smoothstep.  The sum is
    scaled so its variance is about 1.  Evaluation is O(octaves); each octave
    remembers its current pair of knots (a few dozen bytes per instance, so a
    station can own one).
    """

    __slots__ = ("_last", "_norm", "_octaves")

    def __init__(self, seed: int, octaves: Sequence[tuple[float, float]]) -> None:
        if not octaves:
            raise ValueError("SmoothNoise needs at least one octave")
        self._octaves = tuple(
            (float(s), float(w), mix64((seed + i) & _M64)) for i, (s, w) in enumerate(octaves)
        )
        # a smoothstep between two unit-variance knots has variance ~0.72 on average
        self._norm = 1.0 / math.sqrt(0.72 * sum(w * w for _, w in octaves))
        self._last: list[tuple[int, float, float]] = [(-(1 << 62), 0.0, 0.0)] * len(octaves)

    def at(self, t: float) -> float:
        total = 0.0
        last = self._last
        for i, (spacing, weight, octave_seed) in enumerate(self._octaves):
            x = t / spacing
            k = math.floor(x)
            f = x - k
            lk, a, b = last[i]
            if lk != k:
                if lk == k - 1:
                    a = b
                else:
                    a = gauss_at(octave_seed, k)
                b = gauss_at(octave_seed, k + 1)
                last[i] = (k, a, b)
            total += weight * (a + (b - a) * f * f * (3.0 - 2.0 * f))
        return total * self._norm
