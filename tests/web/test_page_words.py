"""The visible-text check of the page walk (tests/web/page_words.py): what counts as a raw
factor code or an English word, and what an officer may read as it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.factors import FACTORS
from tests.web.page_words import leaks


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("细颗粒物 35 µg/m³（PM2.5）", []),
        ("细颗粒物（a34004）", ["代码 a34004"]),
        ("a34004-Rtd=35", ["代码 a34004", "英文 Rtd"]),
        ("化学需氧量 w01018 超标", ["代码 w01018"]),
        ("噪声 LA 55 dB、Leq、L10", ["代码 LA", "代码 Leq", "代码 L10"]),
        ("进水口流量 e10101，模板 e101xx", ["代码 e10101", "代码 e101xx"]),
        ("数采仪 i12001", ["代码 i12001"]),
        ("rule=flatline system", ["英文 rule", "英文 flatline", "英文 system"]),
        ("HJ 212-2017、HJ/T 212-2005、GB 3095—2012、AQI 85、MN 8888", []),
        ("导出 CSV、XLSX、PDF；API 令牌", []),
        ("SO2 12 µg/m³，CO 0.6 mg/m³，流量 3.2 m³/h，气压 101.3 kPa，气温 -2.5 °C", []),
        ("案件 AJ20261207000001 · 网格 DEMO-D1S1M1G1 · demo_admin", []),
        ("LAX 机场", ["英文 LAX"]),
        ("a340041 与 xa34004 不是因子编码", []),
        ("重复 a34004 a34004", ["代码 a34004"]),
    ],
)
def test_leaks(text: str, found: list[str]) -> None:
    assert leaks(text) == found


ROOT = Path(__file__).resolve().parents[2]
#: Where shown text comes from: pages, scripts, handlers, the factor and standard tables.
SHOWN_SOURCES = ("web", "protocol", "aggregates", "alerts", "forward", "envgrid")


def test_one_micro_sign() -> None:
    """µg/m³ is written with U+00B5 MICRO SIGN everywhere (as protocol/factors.json does),
    never with the Greek small letter mu U+03BC."""
    greek = [
        str(path.relative_to(ROOT))
        for top in SHOWN_SOURCES
        for path in (ROOT / top).rglob("*")
        if path.suffix in {".py", ".js", ".html", ".json", ".toml", ".csv"}
        and path.is_file()
        and not {"vendor", "node_modules"} & set(path.parts)
        and "\u03bc" in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert greek == []
    assert FACTORS["a34004"].unit == "\u00b5g/m\u00b3"
