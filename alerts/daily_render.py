"""The daily push as a message (Simplified Chinese): plain text, HTML (email), Markdown
(WeCom, DingTalk), a JSON payload (webhooks) and the SMS form (template variables)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from .config import AlertConfig
from .daily_facts import Exceedance, OfflineStation, OverdueCase, RankRow
from .templates import PREFIX, Message

__all__ = ["Digest", "render_daily"]

_LEVEL_ZH: Final = {1: "优", 2: "良", 3: "轻度污染", 4: "中度污染", 5: "重度污染", 6: "严重污染"}
_SCOPE_ZH: Final = {"station": "站点", "region": "区县", "grid": "网格"}


@dataclass(frozen=True, slots=True)
class Digest:
    day: date
    now: datetime
    receiver: str
    ranking: Sequence[RankRow]
    exceedances: Sequence[Exceedance]
    overdue: Sequence[OverdueCase]
    offline: Sequence[OfflineStation]
    notes: Sequence[str] = ()


def _num(value: float) -> str:
    return f"{value:.3g}" if value < 10 else f"{value:.0f}"


def _rank_line(r: RankRow) -> str:
    rank = f"第 {r.rank} 名（共 {r.of}）" if r.rank is not None else "未排名"
    if r.aqci is None:
        index = "综合指数 —（数据不足）"
    else:
        index = f"综合指数 {r.aqci:.2f}"
    if r.aqi is not None and r.valid:
        level = _LEVEL_ZH.get(r.level or 0, "—")
        primary = "、".join(r.primary) if r.primary else "—"
        extra = f"；AQI {r.aqi}（{level}），首要污染物 {primary}"
    else:
        extra = "；AQI 数据不足，未评价"
    return f"{_SCOPE_ZH.get(r.scope, r.scope)} {r.name}：{rank}，{index}{extra}"


def _station(config: AlertConfig, sid: int) -> str:
    info = config.stations.get(sid)
    if info is None:
        return f"站点 {sid}"
    return f"{info.display}（{info.region}）" if info.region else info.display


def _exceed_line(config: AlertConfig, e: Exceedance) -> str:
    factor = next((f.display for f in config.factors.values() if f.code == e.factor_code), "")
    return (
        f"{_station(config, e.station_id)} {factor or e.factor_code} {e.basis} "
        f"{_num(e.value)} {e.unit}，限值 {_num(e.limit)} {e.unit}（{e.source}），"
        f"为限值的 {e.ratio:.2f} 倍"
    )


def _span(seconds: float) -> str:
    hours = int(seconds // 3600)
    return f"{hours // 24} 天 {hours % 24} 小时" if hours >= 24 else f"{max(hours, 1)} 小时"


def _case_line(config: AlertConfig, c: OverdueCase, now: datetime) -> str:
    where = f"，{_station(config, c.station_id)}" if c.station_id is not None else ""
    deadline = c.deadline.astimezone(config.tz).strftime("%m-%d %H:%M")
    late = _span((now - c.deadline).total_seconds())
    return f"{c.code} {c.title}{where}：时限 {deadline}，已超期 {late}"


def _offline_line(config: AlertConfig, o: OfflineStation) -> str:
    since = o.since.astimezone(config.tz).strftime("%m-%d %H:%M")
    return f"{_station(config, o.station_id)}：自 {since} 起无数据"


def _section(title: str, lines: list[str], empty: str, limit: int) -> tuple[str, list[str]]:
    shown = lines[:limit] or [empty]
    if len(lines) > limit:
        shown.append(f"…另有 {len(lines) - limit} 项")
    return title, shown


def render_daily(
    d: Digest, config: AlertConfig, *, max_items: int = 30, dashboard_url: str = ""
) -> Message:
    """One receiver's push (see :mod:`alerts.daily_push`)."""
    day = f"{d.day.month}月{d.day.day}日"
    subject = f"【{PREFIX}日报】{day}空气质量排名、超标、超期案件与断线站点"
    standards = "、".join(dict.fromkeys(r.standard for r in d.ranking if r.standard))
    basis = (
        f"（综合指数越小越好；AQI 按 {standards} 日报）" if standards else "（综合指数越小越好）"
    )
    sections = [
        _section(
            f"一、综合指数（AQCI）排名{basis}",
            [_rank_line(r) for r in d.ranking],
            "无排名数据",
            max_items,
        ),
        _section(
            f"二、{day}超标（日均值对照 GB 3095）",
            [_exceed_line(config, e) for e in d.exceedances],
            "无超标",
            max_items,
        ),
        _section(
            f"三、超期未办结案件（{len(d.overdue)} 件）",
            [_case_line(config, c, d.now) for c in d.overdue],
            "无",
            max_items,
        ),
        _section(
            f"四、断线站点（{len(d.offline)} 个）",
            [_offline_line(config, o) for o in d.offline],
            "无",
            max_items,
        ),
    ]
    footer = f"详情：{dashboard_url}" if dashboard_url else "详情请登录监测平台查看。"
    text = [subject, f"接收：{d.receiver}", ""]
    md = [f"### {subject}"]
    body = [f"<h3>{html.escape(subject)}</h3>"]
    for title, lines in sections:
        text += [title, *(f"- {ln}" for ln in lines), ""]
        md += [f"**{title}**", *(f"> {ln}" for ln in lines)]
        items = "".join(f"<li>{html.escape(ln)}</li>" for ln in lines)
        body.append(f"<h4>{html.escape(title)}</h4><ul>{items}</ul>")
    text += [*d.notes, footer]
    md += [*(f"*{n}*" for n in d.notes), footer]
    body += [f"<p><small>{html.escape(n)}</small></p>" for n in d.notes]
    body.append(f"<p>{html.escape(footer)}</p>")
    top = d.ranking[0] if d.ranking else None
    rank = f"第{top.rank}/{top.of}名" if top is not None and top.rank is not None else "未排名"
    summary = (
        f"{day}综合指数{rank}，超标{len(d.exceedances)}项，"
        f"超期案件{len(d.overdue)}件，断线{len(d.offline)}站"
    )
    sms = {
        "kind": "ranking",
        "params": {
            "summary": summary,
            "date": day,
            "rank": rank,
            "aqci": f"{top.aqci:.2f}" if top is not None and top.aqci is not None else "—",
            "exceed": str(len(d.exceedances)),
            "overdue": str(len(d.overdue)),
            "offline": str(len(d.offline)),
        },
    }
    payload: dict[str, Any] = {
        "version": "1",
        "source": "envgrid",
        "kind": "ranking",
        "receiver": d.receiver,
        "day": d.day.isoformat(),
        "title": subject,
        "notes": list(d.notes),
        "text": "\n".join(text),
        "ranking": [
            {
                "scope": r.scope,
                "key": r.key,
                "name": r.name,
                "rank": r.rank,
                "of": r.of,
                "aqci": None if r.aqci is None else str(r.aqci),
                "aqi": r.aqi,
                "level": r.level,
                "primary_pollutants": list(r.primary),
                "valid": r.valid,
                "standard": r.standard,
            }
            for r in d.ranking
        ],
        "exceedances": [
            {
                "station_id": e.station_id,
                "factor_code": e.factor_code,
                "value": e.value,
                "limit": e.limit,
                "unit": e.unit,
                "ratio": round(e.ratio, 3),
                "basis": e.basis,
                "source": e.source,
            }
            for e in d.exceedances
        ],
        "overdue_cases": [
            {"code": c.code, "title": c.title, "deadline": c.deadline.isoformat()}
            for c in d.overdue
        ],
        "offline_stations": [
            {"station_id": o.station_id, "since": o.since.isoformat()} for o in d.offline
        ],
    }
    html_body = '<div style="font-family:sans-serif;font-size:14px">' + "".join(body) + "</div>"
    return Message(subject, "\n".join(text) + "\n", html_body, "\n\n".join(md), payload, sms)
