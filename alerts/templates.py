"""Messages in Simplified Chinese: subject, plain text, HTML (email), Markdown (WeCom,
DingTalk) and a JSON payload (generic webhooks, SMS gateways) — rendered once when a
notification is queued and stored with it, so a retry after a restart sends the same
message."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from .means import AVERAGING_ZH
from .model import REASON_ZH, RULE_ZH, SEVERITY_ZH, STATE_ZH, AlertView, jsonable

__all__ = [
    "PREFIX",
    "Message",
    "describe",
    "mean_exceedance_text",
    "render_alerts",
    "render_test",
    "sms_summary",
]

PREFIX: Final = "环境监测"


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str
    html: str
    markdown: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    #: the SMS form: {"kind": message kind, "params": {template variable: value}}
    #: (alerts.sms_settings.SMS_PARAMS)
    sms: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        return out | {"payload": dict(self.payload), "sms": dict(self.sms)}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Message:
        return cls(
            str(obj.get("subject", "")),
            str(obj.get("text", "")),
            str(obj.get("html", "")),
            str(obj.get("markdown", "")),
            dict(obj.get("payload") or {}),
            dict(obj.get("sms") or {}),
        )


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}" if abs(value) < 1e-3 else f"{value:.6g}"
    return str(value)


def _time(value: datetime | float | None, tz: ZoneInfo) -> str:
    if value is None:
        return "—"
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, tz)
    return value.astimezone(tz).strftime("%m-%d %H:%M")


def _who(a: AlertView) -> str:
    labels = a.labels
    name = (
        labels.get("station_name")
        or labels.get("mn")
        or (f"站点 {a.station_id}" if a.station_id is not None else "")
    )
    return f"{name}（{a.region}）" if a.region and name else str(name or a.region)


def mean_exceedance_text(
    labels: Mapping[str, Any], value: float | None, threshold: float | None, reason: str, unit: str
) -> str:
    """An exceedance on means (alerts.means labels): the worst period — its mean, limit,
    standard and ratio — then the other periods over their limits."""
    averaging = str(labels.get("averaging", ""))
    bound = "下限" if reason == "below" else "限值"
    source = labels.get("source") or ""
    text = (
        f"{AVERAGING_ZH.get(averaging, averaging)}浓度 {_num(labels.get('mean', value))} {unit}，"
        f"{bound} {_num(threshold)} {unit}{f'（{source}）' if source else ''}，"
        f"为{bound}的 {_num(labels.get('ratio'))} 倍"
    )
    others = [
        f"{AVERAGING_ZH.get(k, k)} {_num(v.get('mean'))} {unit}（{_num(v.get('ratio'))} 倍）"
        for k, v in dict(labels.get("exceeded") or {}).items()
        if k != averaging and isinstance(v, Mapping)
    ]
    return " ".join((text + (f"；另有{'、'.join(others)}超标" if others else "")).split())


def describe(a: AlertView, tz: ZoneInfo) -> str:
    """One line saying what the alert is about."""
    labels = a.labels
    rule = RULE_ZH.get(a.rule, a.rule)
    factor = labels.get("factor_name") or labels.get("factor_code") or ""
    unit = labels.get("unit") or ""
    who = _who(a)
    if a.rule == "exceedance" and labels.get("averaging") in AVERAGING_ZH:
        summary = mean_exceedance_text(labels, a.value, a.threshold, a.reason, unit)
        text = f"{who} {factor}{rule}：{summary}"
    elif a.rule in ("exceedance", "aqi_level"):
        bound = "下限" if a.reason == "below" else "上限"
        source = labels.get("source") or ""
        text = (
            f"{who} {factor}{rule}：{_num(a.value)} {unit}，{bound} {_num(a.threshold)} {unit}"
            f"{f'（{source}）' if source else ''}，超限数据 {a.count} 个"
        )
    elif a.rule == "flatline":
        since = _time(a.first_seen, tz)
        text = f"{who} {factor}{rule}：自 {since} 起数值保持 {_num(a.value)} {unit} 不变"
    elif a.rule == "jump":
        text = f"{who} {factor}{rule}：{_num(a.threshold)} → {_num(a.value)} {unit}"
    elif a.rule == "forward_backlog":
        text = (
            f"转发目标 {labels.get('target', a.scope_key)}：{labels.get('backlog', '—')} 条数据"
            f"等待上级平台确认，最早的已等待 {_num(a.value)} 分钟（阈值 {_num(a.threshold)} 分钟）"
        )
    elif a.rule == "maintenance":
        text = f"{who} {factor}{rule}（数据标记 {a.reason or '—'}）"
    elif a.rule == "offline":
        last = labels.get("last_data")
        text = f"{who} {rule}：最后数据 {_time(last, tz)}，{REASON_ZH.get(a.reason, a.reason)}"
    elif a.rule == "offline_mass":
        text = (
            f"{labels.get('scope_name', a.scope_key)}：{labels.get('offline', _num(a.value))}"
            f" 个站点同时断线（共 {labels.get('total', '—')} 个），各站点断线通知合并为本条"
        )
    elif a.scope == "system":  # alerts.system: the platform itself (备份失败 …)
        text = f"系统 {rule}：{a.reason}" if a.reason else f"系统 {rule}"
    else:
        text = f"{who} {rule}"
    return " ".join(text.split())


def _group_title(alerts: Sequence[AlertView], group_labels: Mapping[str, str]) -> str:
    rules = {a.rule for a in alerts}
    parts = []
    if len(rules) == 1:
        parts.append(RULE_ZH.get(next(iter(rules)), next(iter(rules))))
    else:
        parts.append("多类告警")
    region = group_labels.get("region") or ""
    if region:
        parts.append(region)
    if group_labels.get("station") and alerts:
        parts.append(_who(alerts[0]).split("（")[0])
    return " · ".join(parts)


def _line(a: AlertView, tz: ZoneInfo, resolved: bool) -> str:
    when = (
        f"恢复于 {_time(a.resolved_at, tz)}"
        if resolved
        else f"开始于 {_time(a.fired_at or a.first_seen, tz)}"
    )
    return f"[{SEVERITY_ZH.get(a.severity, a.severity)}] {describe(a, tz)}；{when}"


def render_alerts(
    kind: str,
    new: Sequence[AlertView],
    resolved: Sequence[AlertView],
    firing: Sequence[AlertView],
    *,
    group_labels: Mapping[str, str],
    receiver: str,
    tz: ZoneInfo,
    dashboard_url: str = "",
    max_items: int = 30,
) -> Message:
    """The message of one group decision (see :mod:`alerts.grouping`)."""
    everything = [*new, *resolved, *firing]
    title = _group_title(everything, group_labels)
    new_ids = {a.id for a in new}
    still = [a for a in firing if a.id not in new_ids]
    if kind == "reminder":
        subject = f"【{PREFIX}告警·提醒】{title}：{len(firing)} 条告警仍未恢复"
    elif new:
        subject = f"【{PREFIX}告警】{title}：{len(new)} 条新告警"
        if resolved:
            subject += f"，{len(resolved)} 条已恢复"
    else:
        subject = f"【{PREFIX}告警·已恢复】{title}：{len(resolved)} 条告警已恢复"

    sections: list[tuple[str, list[AlertView], bool]] = []
    if kind == "reminder":
        sections.append(("仍未恢复", list(firing), False))
    else:
        if new:
            sections.append(("新告警", list(new), False))
        if resolved:
            sections.append(("已恢复", list(resolved), True))
        if still:
            sections.append(("仍在告警", still, False))

    text_lines = [subject, ""]
    md_lines = [f"### {html.escape(subject)}"]
    html_parts = [
        '<div style="font-family:sans-serif;font-size:14px">',
        f"<h3>{html.escape(subject)}</h3>",
    ]
    for heading, items, is_resolved in sections:
        shown, rest = items[:max_items], len(items) - max_items
        text_lines.append(f"{heading}（{len(items)}）：")
        md_lines.append(f"**{heading}（{len(items)}）**")
        html_parts.append(f"<h4>{heading}（{len(items)}）</h4><ul>")
        for a in shown:
            line = _line(a, tz, is_resolved)
            text_lines.append(f"- {line}")
            md_lines.append(f"> {line}")
            html_parts.append(f"<li>{html.escape(line)}</li>")
        if rest > 0:
            text_lines.append(f"- …另有 {rest} 条")
            md_lines.append(f"> …另有 {rest} 条")
            html_parts.append(f"<li>…另有 {rest} 条</li>")
        text_lines.append("")
        html_parts.append("</ul>")
    footer = f"详情：{dashboard_url}" if dashboard_url else "详情请登录监测平台查看。"
    text_lines.append(footer)
    md_lines.append(footer)
    html_parts.append(f"<p>{html.escape(footer)}</p></div>")

    status = "resolved" if not firing and resolved else "firing"
    payload = {
        "version": "1",
        "source": "envgrid",
        "kind": kind,
        "status": status,
        "receiver": receiver,
        "group_labels": dict(group_labels),
        "title": subject,
        "text": "\n".join(text_lines).strip(),
        "new": sorted(new_ids),
        "resolved": sorted(a.id for a in resolved),
        "alerts": [_alert_json(a, tz) for a in everything[: max_items * 3]],
    }
    count = len(firing) if kind == "reminder" else len(new) or len(resolved)
    sms = {
        "kind": kind,
        "params": {"summary": sms_summary(subject), "count": str(count), "title": title},
    }
    return Message(
        subject,
        "\n".join(text_lines).strip() + "\n",
        "\n".join(html_parts),
        "\n\n".join(md_lines),
        payload,
        sms,
    )


def sms_summary(subject: str) -> str:
    """A subject without its 【…】 head: the gist an SMS template carries."""
    return subject.split("】", 1)[-1].strip() if subject.startswith("【") else subject


def _alert_json(a: AlertView, tz: ZoneInfo) -> dict[str, Any]:
    labels = a.labels
    return {
        "id": a.id,
        "rule": a.rule,
        "rule_zh": RULE_ZH.get(a.rule, a.rule),
        "state": a.state,
        "state_zh": STATE_ZH.get(a.state, a.state),
        "severity": a.severity,
        "station_id": a.station_id,
        "station_name": labels.get("station_name"),
        "mn": labels.get("mn"),
        "region": a.region,
        "grid_id": a.grid_id,
        "factor_code": labels.get("factor_code"),
        "factor_name": labels.get("factor_name"),
        "unit": labels.get("unit"),
        "value": a.value,
        "threshold": a.threshold,
        "reason": a.reason,
        "count": a.count,
        "first_seen": jsonable(a.first_seen),
        "fired_at": jsonable(a.fired_at),
        "resolved_at": jsonable(a.resolved_at),
        "summary": describe(a, tz),
    }


def render_test(receiver: str, when: datetime, tz: ZoneInfo) -> Message:
    subject = f"【{PREFIX}告警】测试消息"
    body = (
        f"这是一条来自环境监测平台的测试消息，发送给接收方「{receiver}」，"
        f"时间 {when.astimezone(tz).strftime('%Y-%m-%d %H:%M:%S')}。收到即表示通道配置正确。"
    )
    payload = {
        "version": "1",
        "source": "envgrid",
        "kind": "test",
        "receiver": receiver,
        "title": subject,
        "text": body,
    }
    stamp = when.astimezone(tz).strftime("%m-%d %H:%M")
    sms = {"kind": "test", "params": {"summary": f"测试消息（{receiver}）", "time": stamp}}
    return Message(
        subject,
        body + "\n",
        f"<p>{html.escape(body)}</p>",
        f"### {subject}\n\n{body}",
        payload,
        sms,
    )
