"""``envgrid standards``: the air-quality standards tables the platform uses.

``envgrid standards list``
    every loaded table (shipped ones plus ``--standards-dir`` files), its edition, the days
    it applies to, whether it is in force on ``--date`` (default today, Asia/Shanghai), how
    many of its values are marked unverified, and the file it came from.
``envgrid standards show ID``
    one table in full — ``ID`` is its id (``hj633-2026``) or its code written any way
    (``HJ633-2026``, ``"HJ 633—2026"``; for GB 3095—2026, whose two stages share a code,
    the stage in force on ``--date`` is shown): breakpoints, report indicators, levels with
    colours and advice, sensitive groups, the publication rules, limits, composite-index
    terms, with the page/table citation of each part and every unverified value marked.
    ``--json`` prints the same as one JSON object.

Operator files given with ``--standards-dir`` are validated first (monotonic
breakpoints, complete reports, contiguous levels, known keys ...); an error names the file
and the JSON pointer and exits with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from collections.abc import Iterable, Sequence
from datetime import date
from fractions import Fraction
from typing import Any

import orjson

from aggregates.cli_aqi import EXIT_BAD_INPUT, InputError, add_standards_dir, standards_and_day
from aggregates.standards import (
    AqciTable,
    AqiTable,
    LimitsTable,
    Standard,
    StandardRegistry,
)

__all__ = ["configure", "run"]

_KIND_ZH = {"aqi": "空气质量指数", "limits": "浓度限值", "aqci": "综合指数"}
_ROLE_ZH = {
    "substitute": "替代值",
    "moving_average": "滑动平均，默认不计入",
    "ignored": "非本版指标，不计入",
    "standard": "指标",
}


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``envgrid standards`` arguments."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="the loaded standards tables and when they apply")
    show = sub.add_parser("show", help="print one table (by id or code, e.g. HJ633-2026)")
    show.add_argument("table", metavar="ID", help="table id (hj633-2026) or code (HJ633-2026)")
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    for p in (listing, show):
        p.add_argument(
            "--date",
            metavar="YYYY-MM-DD",
            help="the day whose tables are in force (default: today in Asia/Shanghai)",
        )
        add_standards_dir(p)


def _norm(text: str) -> str:
    return re.sub(r"[\s\-—–_]+", "", text).lower()


def _heading(table: Standard) -> str:
    heading = getattr(table, "heading", None)
    return heading if isinstance(heading, str) else table.code


def _span(table: Standard) -> str:
    end = table.effective_to.isoformat() if table.effective_to else "…"
    return f"{table.effective_from.isoformat()} 至 {end}"


def find_table(registry: StandardRegistry, wanted: str, on: date) -> Standard:
    """The table named by id or by code; among tables sharing a code, the one in force on
    ``on`` (else the latest).  ``InputError`` listing what exists otherwise."""
    if wanted in registry.standards:
        return registry.standards[wanted]
    key = _norm(wanted)
    same = [s for s in registry.standards.values() if _norm(s.id) == key or _norm(s.code) == key]
    if not same:
        known = ", ".join(f"{s.id} ({s.code})" for s in _ordered(registry.standards.values()))
        raise InputError(f"no standards table {wanted!r}; loaded: {known}")
    in_force = [s for s in same if s.applies_on(on)]
    return (in_force or sorted(same, key=lambda s: s.effective_from))[-1]


def _ordered(tables: Iterable[Standard]) -> list[Standard]:
    order = {"aqi": 0, "limits": 1, "aqci": 2}
    return sorted(tables, key=lambda s: (order[s.kind], s.effective_from))


def _number(value: Fraction | int | None) -> str:
    if value is None:
        return "—"
    f = Fraction(value)
    if f.denominator == 1:
        return str(f.numerator)
    return f"{float(f):g}"


def _table_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A plain aligned table (CJK characters count double)."""

    def width(s: str) -> int:
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)

    cols = [max(width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = []
    for r in [header, *rows]:
        out.append(
            "  ".join(c + " " * (w - width(c)) for c, w in zip(r, cols, strict=True)).rstrip()
        )
    return out


def _list_lines(registry: StandardRegistry, on: date) -> list[str]:
    chosen = set()
    for kind in ("aqi", "limits", "aqci"):
        with contextlib.suppress(LookupError):
            chosen.add(registry.in_force(kind, on).id)
    rows = []
    for s in _ordered(registry.standards.values()):
        rows.append(
            [
                "*" if s.id in chosen else "",
                s.id,
                _heading(s),
                _KIND_ZH[s.kind],
                _span(s),
                str(len(s.unverified_values)) if s.unverified_values else "",
                s.source_file,
            ]
        )
    header = ["", "ID", "标准", "类别", "适用数据日期", "未核实", "文件"]
    return [*_table_text(header, rows), "", f"* 在 {on.isoformat()} 的数据适用的表"]


def _aqi_doc(t: AqiTable) -> dict[str, Any]:
    return {
        "columns": {
            k: {
                "pollutant": c.pollutant,
                "averaging": c.averaging,
                "unit": c.unit,
                "breakpoints": [_number(b) for b in c.breakpoints],
                "above_top": {"rule": c.above_top.rule, "iaqi": c.above_top.iaqi},
            }
            for k, c in t.columns.items()
        },
        "iaqi_levels": list(t.iaqi_levels),
        "reports": {
            name: {k: {"column": i.column, "role": i.role} for k, i in r.indicators.items()}
            for name, r in t.reports.items()
        },
        "levels": [
            {
                "level": lv.level,
                "level_cn": lv.level_cn,
                "category": lv.category,
                "aqi_min": lv.aqi_min,
                "aqi_max": lv.aqi_max,
                "color_name": lv.color_name,
                "hex": lv.hex,
                "rgb": list(lv.rgb),
                "cmyk": list(lv.cmyk),
                "health_effect": lv.health_effect,
                "advice": lv.advice,
            }
            for lv in t.levels
        ],
        "sensitive_groups": dict(t.sensitive_groups),
        "primary_pollutant_above": t.primary_above,
        "exceedance_pollutant_above": t.exceedance_above,
        "missing_data_publish_above": t.missing_publish_above,
        "reporting_decimals": dict(t.reporting_decimals),
    }


def _limits_doc(t: LimitsTable) -> dict[str, Any]:
    return {
        "limits": [
            {
                "pollutant": r.pollutant,
                "averaging": r.averaging,
                "unit": r.unit,
                "grade_1": _number(r.grade_1),
                "grade_2": _number(r.grade_2),
                "verified": r.verified,
            }
            for r in t.rows
        ]
    }


def _aqci_doc(t: AqciTable) -> dict[str, Any]:
    return {
        "indices": [
            {
                "pollutant": e.pollutant,
                "statistic": e.statistic,
                "percentile": _number(e.percentile) if e.percentile is not None else None,
                "of": e.source,
                "s": _number(e.s),
                "unit": e.unit,
                "weight": _number(e.weight),
                "verified": e.verified,
            }
            for e in t.entries
        ],
        "decimals": t.decimals,
        "rounding": t.rounding,
    }


def table_doc(t: Standard) -> dict[str, Any]:
    """The JSON form of ``envgrid standards show``."""
    doc: dict[str, Any] = {
        "id": t.id,
        "kind": t.kind,
        "code": t.code,
        "heading": _heading(t),
        "name": t.name,
        "effective_from": t.effective_from.isoformat(),
        "effective_to": t.effective_to.isoformat() if t.effective_to else None,
        "file": t.source_file,
        "notes": list(t.notes),
        "sources": dict(t.sources),
        "unverified": [{"pointer": u.pointer, "note": u.note} for u in t.unverified_values],
    }
    if isinstance(t, AqiTable):
        doc.update(_aqi_doc(t))
    elif isinstance(t, LimitsTable):
        doc.update(_limits_doc(t))
    elif isinstance(t, AqciTable):
        doc.update(_aqci_doc(t))
    return doc


def _mark(t: Standard, pointer: str) -> str:
    return "" if t.is_verified(pointer) else " *"


def _aqi_lines(t: AqiTable) -> list[str]:
    cols = list(t.columns.values())
    header = ["IAQI", *[f"{c.key}" for c in cols]]
    rows = []
    for n, level in enumerate(t.iaqi_levels):
        row = [str(level)]
        for c in cols:
            row.append(
                _number(c.breakpoints[n]) + _mark(t, f"{c.pointer}/breakpoints/{n}")
                if n < len(c.breakpoints)
                else "—"
            )
        rows.append(row)
    out = ["IAQI 及对应的污染物浓度限值（µg/m³；CO 为 mg/m³）", *_table_text(header, rows)]
    for c in cols:
        if c.above_top.rule == "fixed":
            out.append(
                f"  {c.key} 高于 {_number(c.breakpoints[-1])}：IAQI 按 {c.above_top.iaqi} 计"
            )
        elif c.above_top.rule == "not_computed":
            out.append(f"  {c.key} 高于 {_number(c.breakpoints[-1])}：不计算 IAQI")
    out.append("  其余各列高于 IAQI 500 对应浓度：IAQI 按 500 计")
    for name, label in (("daily", "日报"), ("hourly", "实时报")):
        spec = t.reports[name]
        used = [f"{k}→{i.column}" for k, i in spec.indicators.items() if i.role == "standard"]
        other = [
            f"{k}（{_ROLE_ZH[i.role]}）" for k, i in spec.indicators.items() if i.role != "standard"
        ]
        out.append(
            f"{label}指标：{'，'.join(used)}" + (f"；另：{'，'.join(other)}" if other else "")
        )
    out.append("")
    rows = [
        [
            lv.level_cn,
            f"{lv.aqi_min}～{lv.aqi_max}" if lv.aqi_max is not None else f">{lv.aqi_min - 1}",
            lv.category,
            f"{lv.color_name} {lv.hex}",
            lv.health_effect,
            lv.advice,
        ]
        for lv in t.levels
    ]
    out += _table_text(["级别", "AQI", "类别", "颜色", "对健康影响情况", "建议采取的措施"], rows)
    if t.sensitive_groups:
        out += ["", f"IAQI 超过 {t.sensitive_iaqi_above} 的污染物的敏感人群："]
        out += [f"  {p}：{g}" for p, g in t.sensitive_groups.items()]
    out += [
        "",
        f"首要污染物：AQI 大于 {t.primary_above} 时 IAQI 最大的污染物（并列时均列出）",
        "超标污染物："
        + (
            f"IAQI 大于 {t.exceedance_above} 的污染物"
            if t.exceedance_above is not None
            else "无此概念"
        ),
        "数据缺失："
        + (
            f"有指标缺失时，其余指标的 AQI 大于 {t.missing_publish_above} 才发布，否则 AQI 记为 NA"
            if t.missing_publish_above is not None
            else "按其余指标计算"
        ),
        "浓度修约（GB/T 8170）小数位："
        + "，".join(f"{p} {d}" for p, d in t.reporting_decimals.items()),
    ]
    return out


def _limits_lines(t: LimitsTable) -> list[str]:
    rows = [
        [
            r.pollutant,
            r.averaging,
            _number(r.grade_1) + ("" if r.verified else " *"),
            _number(r.grade_2) + ("" if r.verified else " *"),
            r.unit,
        ]
        for r in t.rows
    ]
    return _table_text(["污染物", "平均时间", "一级", "二级", "单位"], rows)


def _aqci_lines(t: AqciTable) -> list[str]:
    rows = [
        [
            e.pollutant,
            e.statistic + (f" {_number(e.percentile)}" if e.percentile is not None else ""),
            e.source,
            _number(e.s),
            _number(e.weight),
            "" if e.verified else "*",
        ]
        for e in t.entries
    ]
    return _table_text(["污染物", "统计量", "基于", "S_i", "权重", "未核实"], rows)


def show_lines(t: Standard) -> list[str]:
    """The text form of ``envgrid standards show``."""
    out = [
        f"{_heading(t)} {t.name}（{_KIND_ZH[t.kind]}，id {t.id}）",
        f"适用数据日期：{_span(t)}",
        f"文件：{t.source_file}",
    ]
    if t.unverified_values:
        out.append(f"未核实：{len(t.unverified_values)} 项（标 * 的数值），原文未核对")
    out.append("")
    if isinstance(t, AqiTable):
        out += _aqi_lines(t)
    elif isinstance(t, LimitsTable):
        out += _limits_lines(t)
    elif isinstance(t, AqciTable):
        out += _aqci_lines(t)
    if t.sources:
        out += ["", "出处："]
        seen: set[str] = set()
        for pointer, text in t.sources:
            if text not in seen:
                seen.add(text)
                out.append(f"  {pointer}：{text}")
    if t.notes:
        out += ["", "说明：", *[f"  {n}" for n in t.notes]]
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``envgrid standards``; 0, or 2 for a bad file, id or date."""
    prog = "envgrid standards"
    try:
        registry, on = standards_and_day(args)
        if args.action == "list":
            lines = _list_lines(registry, on)
        else:
            table = find_table(registry, args.table, on)
            if args.json:
                sys.stdout.buffer.write(orjson.dumps(table_doc(table)) + b"\n")
                return 0
            lines = show_lines(table)
    except InputError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
