"""Exact numbers for the standards maths: JSON numbers and user input become
:class:`fractions.Fraction` (floats through their shortest ``repr``, AQI.md §1.6), and
results are rounded half-even (GB/T 8170)."""

from __future__ import annotations

import math
import numbers
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import TypeAlias

__all__ = ["Number", "fraction_to_decimal", "round_half_even", "to_fraction"]

#: Anything accepted as a concentration or statistic.  Floats are converted through their
#: shortest ``repr`` (``Decimal(repr(x))``), never through their binary value.
Number: TypeAlias = int | float | str | Decimal | Fraction


def to_fraction(value: object, what: str = "value") -> Fraction:
    """Convert ``value`` to an exact :class:`Fraction`.

    Accepts ``int`` (not ``bool``), ``Fraction``/rationals, finite ``Decimal``, finite
    ``float`` (through ``Decimal(repr(value))``, so ``2.2`` is 11/5 and not the binary
    approximation — AQI.md §1.6) and numeric strings (``"2.2"``, ``" 35 "``, ``"1e2"``).
    Raises :class:`ValueError` naming ``what`` for anything else (including NaN/infinity).
    """
    if isinstance(value, bool):
        raise ValueError(f"{what}: not a number: {value!r}")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{what}: not a finite number: {value!r}")
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{what}: not a finite number: {value!r}")
        # float(): numpy.float64 is a float subclass whose repr is "np.float64(…)"
        return Fraction(Decimal(repr(float(value))))
    if isinstance(value, str):
        try:
            dec = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{what}: not a number: {value!r}") from None
        if not dec.is_finite():
            raise ValueError(f"{what}: not a finite number: {value!r}")
        return Fraction(dec)
    if isinstance(value, numbers.Integral):
        return Fraction(int(value))
    if isinstance(value, numbers.Rational):
        return Fraction(int(value.numerator), int(value.denominator))
    if isinstance(value, numbers.Real):  # e.g. numpy.float32
        return to_fraction(float(value), what)
    raise ValueError(f"{what}: not a number: {value!r}")


def round_half_even(value: Fraction, decimals: int) -> Fraction:
    """Round exactly to ``decimals`` places, ties to even (GB/T 8170 "四舍六入五成双")."""
    scale = Fraction(10) ** decimals
    return Fraction(round(value * scale)) / scale


def fraction_to_decimal(value: Fraction, decimals: int) -> Decimal:
    """Round half-even to ``decimals`` places and return a :class:`Decimal` with exactly
    that many places (``Decimal('2.2')``, ``Decimal('5.30')``, ``Decimal('35')``)."""
    scaled = round(value * Fraction(10) ** decimals)
    return Decimal(scaled).scaleb(-decimals)
