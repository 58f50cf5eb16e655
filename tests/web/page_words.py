"""What a dashboard page may not show in its visible text: raw HJ 212 factor codes
(``a34004``, ``w01018``, ``LA``, ``e10101``, ``i12001``…) and English words outside a short
allow-list of terms an officer reads as they are (PM2.5, AQI, MN, CSV, HJ 212, GB 3095 …).

Titles and tooltips are not visible text, so a code in ``title=""`` passes; the walker in
tests/web/test_demo_pages_browser.py feeds :func:`leaks` the text of the rendered elements
outside ``code``/``pre``/``kbd``/``samp`` and ``translate="no"`` (commands, file names,
protocol fields and raw frames are marked so; they are meant as written).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

#: HJ 212 factor codes: water/air (w/a + 5 digits), process (e/g + 5 digits or template
#: ``xx``), device information (i + 5 digits or template ``x``), the B.3 noise codes.
FACTOR_CODE: Final = re.compile(
    r"(?<![\w.])(?:[wa]\d{5}|[eg]\d{3}(?:\d\d|xx)|i\d{4}[\dx]"
    r"|L(?:A|Aeq|d|n|dn|eq|max|min|\d\d))(?![\w.])"
)
#: Unit symbols and chemical formulae shown beside names (never flagged as words).
UNITS: Final = re.compile(
    r"(?:[µm]?g|[mnµ]g|k?g|t|[mµ]?L|m³|m|s|h|d|Pa|kPa|MPa|mS|µS|cm|dB|NTU|mV|kW|kWh|min|°C|%)"
    r"(?:/(?:[mµ]?L|m³|m²|m|s|h|d|cm|min|kWh))?"
)
#: Words an officer reads as they are (abbreviations of the standards, formats, pollutants,
#: names of products and apps): page_words_allowed.txt beside this file.
ALLOWED: Final = frozenset(
    line.strip()
    for line in (Path(__file__).parent / "page_words_allowed.txt").read_text("utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)
#: A word: letters, digits and ``. - / _`` inside.  Identifiers (anything with a digit or
#: ``_``: case numbers AJ2026…, grid codes DEMO-D1S1, log-in names demo_admin) are data.
WORD: Final = re.compile(r"[A-Za-z][\w.\-/]*\w|[A-Za-z]")
IDENTIFIER: Final = re.compile(r".*[\d_].*")


def leaks(text: str) -> list[str]:
    """Raw factor codes and English words in ``text`` (each once, in order of appearance)."""
    found: dict[str, None] = {}
    for m in FACTOR_CODE.finditer(text):
        found.setdefault(f"代码 {m.group()}", None)
    rest = FACTOR_CODE.sub(" ", text).replace("°C", " ")
    for m in WORD.finditer(rest):
        word = m.group().rstrip(".-/")
        if word in ALLOWED or UNITS.fullmatch(word) or IDENTIFIER.fullmatch(word):
            continue
        found.setdefault(f"英文 {word}", None)
    return list(found)
