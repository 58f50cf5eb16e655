"""Parsing and validating one standards document (``"format": 1``; the format is described in
:mod:`aggregates.standards`)."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from types import MappingProxyType
from typing import Literal, cast

from aggregates.standards.aqci_parsing import parse_aqci
from aggregates.standards.reader import (
    Reader,
    StandardFileError,
    collect_sources,
    collect_unverified,
    header_fields,
    pointer_to,
    verified_at,
)
from aggregates.standards.tables import (
    AboveTop,
    AqiTable,
    IaqiColumn,
    Indicator,
    IndicatorRole,
    Kind,
    Level,
    LimitRow,
    LimitsTable,
    NoData,
    ReportSpec,
    Standard,
)

__all__ = ["FORMAT_VERSION", "parse_standard"]

FORMAT_VERSION = 1


def _parse_header(ctx: Reader, doc: dict[str, object]) -> Standard:
    fmt = ctx.integer("/format", doc["format"])
    if fmt != FORMAT_VERSION:
        raise ctx.err("/format", f"unsupported format {fmt} (this version reads {FORMAT_VERSION})")
    kind = ctx.string("/kind", doc["kind"])
    if kind not in ("aqi", "limits", "aqci"):
        raise ctx.err("/kind", f"must be 'aqi', 'limits' or 'aqci', not {kind!r}")
    eff_from = ctx.day("/effective_from", doc["effective_from"])
    eff_to = doc.get("effective_to")
    eff_to_d = None if eff_to is None else ctx.day("/effective_to", eff_to)
    if eff_to_d is not None and eff_to_d < eff_from:
        raise ctx.err("/effective_to", "is before effective_from")
    unverified = collect_unverified(doc)
    sources = collect_sources(doc)
    notes = doc.get("notes", [])
    return Standard(
        id=ctx.string("/id", doc["id"]),
        kind=cast(Kind, kind),
        code=ctx.string("/code", doc["code"]),
        name=ctx.string("/name", doc["name"]),
        effective_from=eff_from,
        effective_to=eff_to_d,
        source_file=ctx.file,
        notes=tuple(cast(list[str], notes)),
        unverified_values=tuple(unverified),
        sources=tuple(sources),
    )


_HEADER_REQUIRED = ("format", "kind", "id", "code", "name", "effective_from")
_HEADER_OPTIONAL = ("effective_to",)


def _parse_above_top(ctx: Reader, pointer: str, value: object, *, nested: bool = False) -> AboveTop:
    """``{"rule": ..., "iaqi"?: n, "alternative"?: {"rule": .., "enabled": bool, ...}}``.

    The alternative (used for unverified claims, e.g. aqi-hub's HJ 633—2026 "SO2 1h > 800
    gives 200") replaces the rule only when its ``enabled`` is true.
    """
    if nested:
        obj = ctx.obj(pointer, value, required=("rule", "enabled"), optional=("iaqi",))
    else:
        obj = ctx.obj(pointer, value, required=("rule",), optional=("iaqi", "alternative"))
    rule = ctx.string(pointer_to(pointer, "rule"), obj["rule"])
    if rule not in ("cap", "not_computed", "fixed"):
        raise ctx.err(
            pointer_to(pointer, "rule"), f"must be cap, not_computed or fixed, not {rule!r}"
        )
    iaqi: int | None = None
    if rule == "fixed":
        if "iaqi" not in obj:
            raise ctx.err(pointer_to(pointer, "iaqi"), "required when rule is 'fixed'")
        iaqi = ctx.integer(pointer_to(pointer, "iaqi"), obj["iaqi"], minimum=0)
    elif "iaqi" in obj:
        raise ctx.err(pointer_to(pointer, "iaqi"), "only allowed when rule is 'fixed'")
    this = AboveTop(rule=cast(Literal["cap", "not_computed", "fixed"], rule), iaqi=iaqi)
    if nested:
        ctx.boolean(pointer_to(pointer, "enabled"), obj["enabled"])
        return this
    if "alternative" in obj:
        alt_ptr = pointer_to(pointer, "alternative")
        alt = _parse_above_top(ctx, alt_ptr, obj["alternative"], nested=True)
        if cast(dict[str, object], obj["alternative"])["enabled"] is True:
            return alt
    return this


def _parse_aqi(ctx: Reader, doc: dict[str, object], header: Standard) -> AqiTable:
    unverified = header.unverified_values
    iaqi_obj = ctx.obj("/iaqi", doc["iaqi"], required=("levels", "columns"))
    lv_items = ctx.lst("/iaqi/levels", iaqi_obj["levels"], min_len=2)
    iaqi_levels = tuple(
        ctx.integer(pointer_to("/iaqi/levels", i), v, minimum=0) for i, v in enumerate(lv_items)
    )
    if iaqi_levels[0] != 0 or any(a >= b for a, b in itertools.pairwise(iaqi_levels)):
        raise ctx.err("/iaqi/levels", "must start at 0 and increase strictly")

    cols_ptr = "/iaqi/columns"
    columns: dict[str, IaqiColumn] = {}
    for key, p, raw in ctx.members(cols_ptr, iaqi_obj["columns"]):
        col = ctx.obj(
            p,
            raw,
            required=("pollutant", "averaging", "unit", "breakpoints"),
            optional=("above_top",),
        )
        bp_items = ctx.lst(pointer_to(p, "breakpoints"), col["breakpoints"], min_len=2)
        if len(bp_items) > len(iaqi_levels):
            raise ctx.err(
                pointer_to(p, "breakpoints"), f"more entries than /iaqi/levels ({len(iaqi_levels)})"
            )
        bps = tuple(
            ctx.number(pointer_to(pointer_to(p, "breakpoints"), i), v)
            for i, v in enumerate(bp_items)
        )
        if bps[0] != 0:
            raise ctx.err(
                pointer_to(pointer_to(p, "breakpoints"), 0), "the first breakpoint must be 0"
            )
        for i in range(1, len(bps)):
            if bps[i] <= bps[i - 1]:
                raise ctx.err(
                    pointer_to(pointer_to(p, "breakpoints"), i),
                    "breakpoints must increase strictly",
                )
        above = (
            _parse_above_top(ctx, pointer_to(p, "above_top"), col["above_top"])
            if "above_top" in col
            else AboveTop("cap")
        )
        columns[key] = IaqiColumn(
            key=key,
            pollutant=ctx.string(pointer_to(p, "pollutant"), col["pollutant"]),
            averaging=ctx.string(pointer_to(p, "averaging"), col["averaging"]),
            unit=ctx.string(pointer_to(p, "unit"), col["unit"]),
            iaqi_levels=iaqi_levels[: len(bps)],
            breakpoints=bps,
            above_top=above,
            pointer=p,
        )
    if not columns:
        raise ctx.err(cols_ptr, "no columns")

    reports_obj = ctx.obj("/reports", doc["reports"], required=("hourly", "daily"))
    reports: dict[str, ReportSpec] = {}
    for rname in ("hourly", "daily"):
        rp = pointer_to("/reports", rname)
        robj = ctx.obj(rp, reports_obj[rname], required=("indicators",))
        iptr = pointer_to(rp, "indicators")
        inds: dict[str, Indicator] = {}
        for ikey, ip, iraw in ctx.members(iptr, robj["indicators"]):
            iobj = ctx.obj(ip, iraw, required=("column",), optional=("role", "substitute"))
            column = ctx.string(pointer_to(ip, "column"), iobj["column"])
            if column not in columns:
                raise ctx.err(pointer_to(ip, "column"), f"no column {column!r} in /iaqi/columns")
            role = ctx.string(pointer_to(ip, "role"), iobj.get("role", "standard"))
            if role not in ("standard", "substitute", "moving_average", "ignored"):
                raise ctx.err(
                    pointer_to(ip, "role"),
                    "must be standard, substitute, moving_average or ignored",
                )
            sub = ctx.opt_string(pointer_to(ip, "substitute"), iobj.get("substitute"))
            inds[ikey] = Indicator(
                key=ikey,
                column=column,
                pollutant=columns[column].pollutant,
                role=cast(IndicatorRole, role),
                substitute=sub,
                pointer=ip,
            )
        for ind in inds.values():
            if ind.substitute is not None:
                sp = pointer_to(ind.pointer, "substitute")
                if ind.substitute not in inds:
                    raise ctx.err(sp, f"no indicator {ind.substitute!r} in this report")
                if inds[ind.substitute].pollutant != ind.pollutant:
                    raise ctx.err(sp, "a substitute must measure the same pollutant")
        if not any(i.role == "standard" for i in inds.values()):
            raise ctx.err(iptr, "needs at least one indicator with role 'standard'")
        covered = {i.pollutant for i in inds.values() if i.role == "standard"}
        for pol in dict.fromkeys(c.pollutant for c in columns.values()):
            if pol not in covered:
                raise ctx.err(iptr, f"incomplete: no 'standard' indicator for {pol}")
        reports[rname] = ReportSpec(name=rname, indicators=MappingProxyType(inds))

    lv_ptr = "/levels"
    level_items = ctx.lst(lv_ptr, doc["levels"], min_len=1)
    levels: list[Level] = []
    for i, raw in enumerate(level_items):
        p = pointer_to(lv_ptr, i)
        lo = ctx.obj(
            p,
            raw,
            required=(
                "level",
                "level_cn",
                "category",
                "aqi_min",
                "aqi_max",
                "color_name",
                "rgb",
                "hex",
                "cmyk",
                "health_effect",
                "advice",
            ),
        )
        rgb = cast(tuple[int, int, int], ctx.integers(pointer_to(p, "rgb"), lo["rgb"], 3))
        aqi_min = ctx.integer(pointer_to(p, "aqi_min"), lo["aqi_min"], minimum=0)
        aqi_max = (
            None
            if lo["aqi_max"] is None
            else ctx.integer(pointer_to(p, "aqi_max"), lo["aqi_max"], minimum=aqi_min)
        )
        expected_min = (0 if aqi_min == 0 else 1) if not levels else (levels[-1].aqi_max or 0) + 1
        if levels and levels[-1].aqi_max is None:
            raise ctx.err(p, "a level follows the open-ended level")
        if aqi_min != expected_min:
            raise ctx.err(
                pointer_to(p, "aqi_min"), f"must be {expected_min} (levels must be contiguous)"
            )
        levels.append(
            Level(
                level=ctx.integer(pointer_to(p, "level"), lo["level"], minimum=1),
                level_cn=ctx.string(pointer_to(p, "level_cn"), lo["level_cn"]),
                category=ctx.string(pointer_to(p, "category"), lo["category"]),
                aqi_min=aqi_min,
                aqi_max=aqi_max,
                color_name=ctx.string(pointer_to(p, "color_name"), lo["color_name"]),
                rgb=rgb,
                hex=ctx.hex_colour(pointer_to(p, "hex"), lo["hex"], rgb),
                cmyk=cast(
                    tuple[int, int, int, int], ctx.integers(pointer_to(p, "cmyk"), lo["cmyk"], 4)
                ),
                health_effect=ctx.string(pointer_to(p, "health_effect"), lo["health_effect"]),
                advice=ctx.string(pointer_to(p, "advice"), lo["advice"]),
                verified=verified_at(p, unverified),
            )
        )
    top = max(iaqi_levels)
    if levels[-1].aqi_max is not None and levels[-1].aqi_max < top:
        raise ctx.err(pointer_to(lv_ptr, len(levels) - 1), f"levels must cover AQI up to {top}")

    nd = ctx.obj("/no_data", doc["no_data"], required=("label", "color_name", "rgb", "hex"))
    nd_rgb = cast(tuple[int, int, int], ctx.integers("/no_data/rgb", nd["rgb"], 3))
    no_data = NoData(
        label=ctx.string("/no_data/label", nd["label"]),
        color_name=ctx.string("/no_data/color_name", nd["color_name"]),
        rgb=nd_rgb,
        hex=ctx.hex_colour("/no_data/hex", nd["hex"], nd_rgb),
    )

    order_items = ctx.lst("/pollutant_order", doc["pollutant_order"], min_len=1)
    order = tuple(
        ctx.string(pointer_to("/pollutant_order", i), v) for i, v in enumerate(order_items)
    )
    for c in columns.values():
        if c.pollutant not in order:
            raise ctx.err("/pollutant_order", f"pollutant {c.pollutant!r} is missing")

    decimals = {
        k: ctx.integer(p, v, minimum=0)
        for k, p, v in ctx.members("/reporting_decimals", doc["reporting_decimals"])
    }
    for pol in order:
        if pol not in decimals:
            raise ctx.err(pointer_to("/reporting_decimals", pol), "required key is missing")

    prim = ctx.obj("/primary_pollutant", doc["primary_pollutant"], required=("aqi_above",))
    exc = ctx.obj(
        "/exceedance_pollutant", doc["exceedance_pollutant"], required=("enabled", "iaqi_above")
    )
    exc_enabled = ctx.boolean("/exceedance_pollutant/enabled", exc["enabled"])
    exc_above = ctx.integer("/exceedance_pollutant/iaqi_above", exc["iaqi_above"], minimum=0)
    missing_above: int | None = None
    if "missing_data" in doc:
        md = ctx.obj("/missing_data", doc["missing_data"], required=("publish_above",))
        missing_above = ctx.integer("/missing_data/publish_above", md["publish_above"], minimum=0)
    groups: dict[str, str] = {}
    groups_above = 100
    if "sensitive_groups" in doc:
        sg = ctx.obj(
            "/sensitive_groups", doc["sensitive_groups"], required=("iaqi_above", "groups")
        )
        groups_above = ctx.integer("/sensitive_groups/iaqi_above", sg["iaqi_above"], minimum=0)
        for pol, gp, text in ctx.members("/sensitive_groups/groups", sg["groups"]):
            if pol not in order:
                raise ctx.err(gp, f"not a pollutant of /pollutant_order: {pol!r}")
            groups[pol] = ctx.string(gp, text)

    return AqiTable(
        **header_fields(header),
        iaqi_levels=iaqi_levels,
        columns=MappingProxyType(columns),
        reports=MappingProxyType(reports),
        levels=tuple(levels),
        no_data=no_data,
        pollutant_order=order,
        reporting_decimals=MappingProxyType(decimals),
        primary_above=ctx.integer("/primary_pollutant/aqi_above", prim["aqi_above"], minimum=0),
        exceedance_above=exc_above if exc_enabled else None,
        missing_publish_above=missing_above,
        sensitive_groups=MappingProxyType(groups),
        sensitive_iaqi_above=groups_above,
    )


def _parse_limits(ctx: Reader, doc: dict[str, object], header: Standard) -> LimitsTable:
    unverified = header.unverified_values
    items = ctx.lst("/limits", doc["limits"], min_len=1)
    rows: list[LimitRow] = []
    seen: set[tuple[str, str]] = set()
    for i, raw in enumerate(items):
        p = pointer_to("/limits", i)
        ro = ctx.obj(
            p,
            raw,
            required=("pollutant", "averaging", "unit", "grade_1", "grade_2"),
            optional=("description",),
        )
        pol = ctx.string(pointer_to(p, "pollutant"), ro["pollutant"])
        avg = ctx.string(pointer_to(p, "averaging"), ro["averaging"])
        if (pol, avg) in seen:
            raise ctx.err(p, f"duplicate row for {pol} {avg}")
        seen.add((pol, avg))
        rows.append(
            LimitRow(
                pollutant=pol,
                averaging=avg,
                unit=ctx.string(pointer_to(p, "unit"), ro["unit"]),
                grade_1=ctx.number(pointer_to(p, "grade_1"), ro["grade_1"]),
                grade_2=ctx.number(pointer_to(p, "grade_2"), ro["grade_2"]),
                description=ctx.opt_string(pointer_to(p, "description"), ro.get("description")),
                verified=verified_at(p, unverified),
            )
        )
    return LimitsTable(**header_fields(header), rows=tuple(rows), stage=_parse_stage(ctx, doc))


_STAGE_MAX_LEN = 20


def _parse_stage(ctx: Reader, doc: dict[str, object]) -> str | None:
    """The optional ``stage`` of a limits table: a short single-line name such as
    ``过渡阶段`` or ``最终限值``, shown with the code (:meth:`LimitsTable.heading`)."""
    if "stage" not in doc:
        return None
    stage = ctx.string("/stage", doc["stage"])
    if stage != stage.strip() or any(c.isspace() and c != " " for c in stage):
        raise ctx.err("/stage", "must be a single line without leading or trailing spaces")
    if len(stage) > _STAGE_MAX_LEN:
        raise ctx.err("/stage", f"must be at most {_STAGE_MAX_LEN} characters")
    return stage


_KIND_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "aqi": (
        (
            "iaqi",
            "reports",
            "levels",
            "no_data",
            "pollutant_order",
            "reporting_decimals",
            "primary_pollutant",
            "exceedance_pollutant",
        ),
        ("missing_data", "sensitive_groups"),
    ),
    "limits": (("limits",), ("stage",)),
    "aqci": (("indices", "decimals", "rounding"), ()),
}


def parse_standard(text: str, file: str) -> Standard:
    """Parse and validate one standards document; ``file`` is used in error messages."""
    ctx = Reader(file)

    def _no_constant(name: str) -> object:
        raise ctx.err("", f"invalid JSON constant {name}")

    try:
        raw = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise StandardFileError(f"{file}: invalid JSON: {exc}") from None
    head = ctx.obj("", raw, required=("format", "kind"), open_keys=True)
    kind = ctx.string("/kind", head["kind"])
    if kind not in _KIND_KEYS:
        raise ctx.err("/kind", f"must be 'aqi', 'limits' or 'aqci', not {kind!r}")
    req, opt = _KIND_KEYS[kind]
    doc = ctx.obj("", raw, required=_HEADER_REQUIRED + req, optional=_HEADER_OPTIONAL + opt)
    header = _parse_header(ctx, doc)
    if kind == "aqi":
        return _parse_aqi(ctx, doc, header)
    if kind == "limits":
        return _parse_limits(ctx, doc, header)
    return parse_aqci(ctx, doc, header)
