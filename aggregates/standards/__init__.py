"""Versioned air-quality standards as data: HJ 633 (AQI), GB 3095 (limits), AQCI (综合指数).

The tables live in JSON files beside this module (``hj633-2012.json``, ``hj633-2026.json``,
``gb3095-2012.json``, ``gb3095-2026.json``, ``gb3095-2026-2031.json``, ``aqci-2018.json``,
``aqci-2026.json``).  :func:`load_standards` reads them, then operator override files from
extra directories: a file whose ``id`` equals a shipped one replaces it completely, which is
how an operator corrects a table without a code change.  Every file is validated and every
error names the file and the JSON pointer (RFC 6901) of the offending key.

Selection by date (AQI.md §3 "Which rules apply when"): for a kind of table the registry
picks, among the tables with ``effective_from <= on`` and (``effective_to`` absent or
``on <= effective_to``), the one with the latest ``effective_from``.  With the shipped files
this gives the 2012 rules up to 2026-02-28 and the 2026 rules from 2026-03-01.

Verification markers.  Any JSON object may carry ``"verified": false`` (plus optional
``"note"`` / ``"source"``); it marks that object and everything inside it.  A single number
may be written as a *cell* ``{"value": 60, "verified": false, "source": "..."}``.  The loader
records the pointer of every marked node; :meth:`Standard.unverified` lists them (optionally
below a pointer prefix) and :meth:`Standard.is_verified` answers for one pointer, so the UI
can flag values of the 2026 revision that AQI.md §6 reports from secondary sources only.

File format (``"format": 1``).  Common header: ``kind`` (``aqi``/``limits``/``aqci``),
``id``, ``code`` (shown in results, e.g. ``"HJ 633-2012"``), ``name``, ``effective_from``
(ISO date), optional ``effective_to``, optional ``notes`` (list of strings).  Then by kind:

* ``aqi``: ``iaqi.levels`` (IAQI of each breakpoint row, ``[0, 50, …, 500]``) and
  ``iaqi.columns.<key>`` = ``{pollutant, averaging, unit, breakpoints, above_top?}``, the
  breakpoints aligned with ``iaqi.levels`` (a truncated column such as SO2 1h has fewer);
  ``above_top`` = ``{"rule": "cap" | "not_computed" | "fixed", "iaqi"?, "alternative"?}``
  where ``alternative`` (``{"rule", "iaqi"?, "enabled"}``) replaces the rule when
  ``enabled``; ``reports.hourly|daily.indicators.<input key>`` = ``{column, role?,
  substitute?}`` (roles ``standard``, ``substitute``, ``moving_average``); ``levels``
  (``level, level_cn, category, aqi_min, aqi_max|null, color_name, rgb, hex, cmyk,
  health_effect, advice``; contiguous, hex checked against rgb); ``no_data``
  (``label, color_name, rgb, hex``); ``pollutant_order``; ``reporting_decimals``
  (GB/T 8170 places per pollutant); ``primary_pollutant.aqi_above``;
  ``exceedance_pollutant`` (``enabled``, ``iaqi_above``).
* ``limits``: ``limits`` = list of ``{pollutant, averaging, unit, grade_1, grade_2,
  description?}`` (averaging ``annual``, ``quarterly``, ``24h``, ``8h``, ``1h``); optional
  ``stage`` (``过渡阶段`` / ``最终限值`` for GB 3095—2026), shown by
  :meth:`LimitsTable.label` ("GB 3095—2026 过渡阶段 二级").
* ``aqci``: ``indices`` = list of ``{pollutant, statistic: mean|percentile, percentile?,
  of: daily_mean|mda8, s, unit, weight?, statistic_decimals}``; ``decimals`` (of the
  index); ``rounding`` (default variant: ``per_index``, ``rounded_statistics``, ``exact``).

Unknown keys are errors (typos in an override must not pass silently); ``verified``,
``note``, ``notes`` and ``source`` are allowed on every object.

Number handling is exact: JSON numbers are parsed as :class:`decimal.Decimal` and stored as
:class:`fractions.Fraction`; :func:`to_fraction` converts user input the same way (floats via
``repr`` so that ``2.2`` stays exactly 2.2 — AQI.md §1.6, "exact arithmetic is required").

Modules: :mod:`~aggregates.standards.numbers` (exact numbers), :mod:`~.tables` (the data
model), :mod:`~.reader` (the validating JSON reader), :mod:`~.parsing` (one document),
:mod:`~.registry` (loading and choosing by date); this package re-exports their public names.
"""

from aggregates.standards import tables
from aggregates.standards.numbers import (
    Number,
    fraction_to_decimal,
    round_half_even,
    to_fraction,
)
from aggregates.standards.parsing import parse_standard
from aggregates.standards.reader import StandardFileError
from aggregates.standards.registry import (
    NoStandardInForce,
    StandardRegistry,
    default_registry,
    load_standards,
)
from aggregates.standards.tables import *  # noqa: F403

__all__ = [
    "NoStandardInForce",
    "Number",
    "StandardFileError",
    "StandardRegistry",
    "default_registry",
    "fraction_to_decimal",
    "load_standards",
    "parse_standard",
    "round_half_even",
    "to_fraction",
]
__all__ += tables.__all__
