"""Which standard a figure was computed by: runs of days per table, the sentence a report
prints, and the "未核实" mark of the HJ 663—2026 composite index (gone once an operator file
with the same id has no unverified value)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from aggregates.standards import StandardRegistry, default_registry, load_standards
from aggregates.standards_used import (
    RuleSpan,
    document_code,
    rule_sentence,
    rule_spans,
    unverified_mark,
)

SHIPPED = Path(__file__).resolve().parents[2] / "aggregates" / "standards"


def _span(first: str, last: str, code: str) -> RuleSpan:
    return RuleSpan(date.fromisoformat(first), date.fromisoformat(last), code, code)


@pytest.mark.parametrize(
    ("spans", "sentence"),
    [
        ([], ""),
        ([_span("2026-03-01", "2026-03-31", "HJ 633—2026")], "按 HJ 633—2026"),
        ([_span("2025-01-01", "2025-01-01", "HJ 633—2012")], "按 HJ 633—2012"),
        (
            [
                _span("2026-02-01", "2026-02-28", "HJ 633—2012"),
                _span("2026-03-01", "2026-03-31", "HJ 633—2026"),
            ],
            "2026-02-01 至 2026-02-28 按 HJ 633—2012；2026-03-01 至 2026-03-31 按 HJ 633—2026",
        ),
        (
            [
                _span("2026-02-28", "2026-02-28", "HJ 633—2012"),
                _span("2026-03-01", "2026-03-01", "HJ 633—2026"),
            ],
            "2026-02-28 按 HJ 633—2012；2026-03-01 按 HJ 633—2026",
        ),
    ],
)
def test_rule_sentence(spans: list[RuleSpan], sentence: str) -> None:
    assert rule_sentence(spans) == sentence


@pytest.mark.parametrize(
    ("kind", "start", "end", "expected"),
    [
        ("aqi", "2026-02-01", "2026-04-01", [
            ("2026-02-01", "2026-02-28", "HJ 633—2012"),
            ("2026-03-01", "2026-03-31", "HJ 633—2026"),
        ]),
        ("aqi", "2026-03-01", "2026-03-02", [("2026-03-01", "2026-03-01", "HJ 633—2026")]),
        ("aqi", "2026-02-28", "2026-03-01", [("2026-02-28", "2026-02-28", "HJ 633—2012")]),
        ("aqi", "2026-03-01", "2026-03-01", []),
        ("limits", "2030-12-30", "2031-01-02", [
            ("2030-12-30", "2030-12-31", "GB 3095—2026"),
            ("2031-01-01", "2031-01-01", "GB 3095—2026"),
        ]),
        ("aqci", "2026-02-27", "2026-03-03", [
            ("2026-02-27", "2026-02-28", "城市环境空气质量排名技术规定（2018）"),
            ("2026-03-01", "2026-03-02", "HJ 663—2026 综合指数"),
        ]),
    ],
)  # fmt: skip
def test_rule_spans_follow_the_registry(
    registry: StandardRegistry, kind: str, start: str, end: str, expected: list[tuple[str, ...]]
) -> None:
    table_of = {"aqi": registry.aqi_table, "limits": registry.limits, "aqci": registry.aqci}[kind]
    spans = rule_spans(date.fromisoformat(start), date.fromisoformat(end), table_of)
    assert [(s.first.isoformat(), s.last.isoformat(), s.code) for s in spans] == expected


def test_transitional_and_final_limits_are_two_runs_of_one_code(
    registry: StandardRegistry,
) -> None:
    """GB 3095—2026 has two tables (transitional, final) with one code: two runs, but the
    sentence names the code once per run so the reader sees where the stage changes."""
    spans = rule_spans(date(2030, 12, 31), date(2031, 1, 2), registry.limits)
    assert len({s.table_id for s in spans}) == 2
    assert rule_sentence(spans).count("GB 3095—2026") == 2


@pytest.mark.parametrize(
    ("code", "document"),
    [
        ("HJ 663—2026 综合指数", "HJ 663—2026"),
        ("HJ 633—2026", "HJ 633—2026"),
        ("GB 3095—2012", "GB 3095—2012"),
        ("城市环境空气质量排名技术规定（2018）", "城市环境空气质量排名技术规定（2018）"),
    ],
)
def test_document_code(code: str, document: str) -> None:
    assert document_code(code) == document


def test_only_the_composite_index_is_marked() -> None:
    reg = default_registry()
    day = date(2026, 3, 1)
    assert unverified_mark(reg.aqi_table(day)) is None
    mark = unverified_mark(reg.aqci(day))
    assert mark is not None
    assert mark["mark"] == "未核实" and mark["code"] == "HJ 663—2026 综合指数"
    assert mark["reason"] == "HJ 663—2026 原文未获取，权重与规则取自二手资料"
    assert "HJ 663—2026 综合指数" in mark["message"] and "未核实" in mark["message"]
    assert unverified_mark(reg.aqci(date(2026, 2, 28))) is None  # the 2018 rules


def _verified(node: Any) -> Any:
    """``node`` with every ``"verified": false`` marker removed (cells become numbers)."""
    if isinstance(node, dict):
        if set(node) >= {"value", "verified"} and set(node) <= {
            "value",
            "verified",
            "source",
            "note",
        }:
            return node["value"]
        return {k: _verified(v) for k, v in node.items() if k != "verified"}
    if isinstance(node, list):
        return [_verified(v) for v in node]
    return node


def test_correcting_the_composite_index_is_one_file(tmp_path: Path) -> None:
    """An operator file with the id ``aqci-2026`` and no unverified value replaces the
    shipped one: the mark disappears; the weights come from the file."""
    doc = _verified(json.loads((SHIPPED / "aqci-2026.json").read_text(encoding="utf-8")))
    for entry in doc["indices"]:
        if entry["pollutant"] == "PM2.5":
            entry["weight"] = 4
    (tmp_path / "aqci-2026.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    reg = load_standards([tmp_path])
    table = reg.aqci(date(2026, 3, 1))
    assert table.entry("PM2.5").weight == 4
    assert unverified_mark(table) is None
