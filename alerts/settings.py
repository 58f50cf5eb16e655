"""Settings of the alert engine (section ``[alerts]`` of envgrid.toml).

Defaults of the rules (each can be overridden per station type, region, station and
factor in the ``alert_rule_config`` table), the offline sweeper, the notification
timers (Alertmanager-style, overridable per route), the channels (SMTP, webhooks) and
the scheduled jobs.  Times are seconds unless the name says otherwise.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol

from aggregates.settings import AggregatesConfig
from store.validation import is_hhmm, require

from .sms_settings import check_sms_settings

__all__ = ["AlertSettings", "AlertsConfig"]


#: Settings checked by AlertSettings: > 0, ≥ 0 (0 = off), ≥ 1.
_POSITIVE: Final = (
    "offline_after_s",
    "offline_remind_s",
    "sweep_interval_s",
    "means_interval_s",
    "flush_ms",
    "state_save_s",
    "config_reload_s",
    "dispatch_interval_s",
    "rate_window_s",
    "retry_backoff_s",
    "retry_backoff_max_s",
    "smtp_timeout_s",
    "webhook_timeout_s",
)
_NON_NEGATIVE: Final = (
    "offline_disconnect_grace_s",
    "offline_major_after_s",
    "offline_critical_after_s",
    "exceedance_major_after_s",
    "exceedance_critical_after_s",
    "flatline_major_after_s",
    "flatline_critical_after_s",
    "means_delay_s",
    "pending_s",
    "hysteresis_ratio",
    "flatline_count",
    "flatline_s",
    "flatline_tolerance",
    "flatline_min_value_ratio",
    "jump_rel",
    "jump_min_delta_ratio",
    "jump_abs",
    "jump_sigma",
    "jump_window_s",
    "maintenance_s",
    "catchup_s",
    "group_wait_s",
    "group_interval_s",
    "repeat_interval_s",
    "sms_max_per_hour",
)
_AT_LEAST_ONE: Final = (
    "pending_count",
    "clear_count",
    "flatline_min_count",
    "jump_clear_count",
    "sms_param_max_chars",
    "inhibit_min_stations",
    "max_messages_per_receiver",
    "send_attempts",
    "message_max_items",
    "history_days",
)


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Rules defaults, sweeps, notification timers and channels."""

    # -- offline (断线) ---------------------------------------------------------------
    #: No data for this long = offline (断线); reminders while it lasts.
    offline_after_s: int = 900
    offline_remind_s: int = 3600
    #: A station whose TCP connection dropped and stayed down this long (no data since)
    #: is offline before offline_after_s; raised to 2 × the station's report interval
    #: when that is longer (short-connection loggers).  0 = only the no-data rule.
    offline_disconnect_grace_s: int = 300
    #: An offline alert (一般) is 较重 after this long without data, 严重 after
    #: offline_critical_after_s (0 = off).
    offline_major_after_s: float = 14_400.0
    offline_critical_after_s: float = 86_400.0
    #: How often the offline sweeper runs.
    sweep_interval_s: float = 10.0
    #: Inhibition: this many stations of one region / ingest worker offline at once, and at
    #: least this share of them, become one grouped notice instead of one per station.
    inhibit_min_stations: int = 10
    inhibit_ratio: float = 0.3

    # -- exceedance (超标) --------------------------------------------------------------
    #: Limits are judged on the mean of the period they are defined for (GB 3095: 1-hour
    #: means, the O3 8-hour moving mean, daily means; HJ 663 validity), read from the
    #: hourly series every means_interval_s, an hour once means_delay_s have passed since
    #: it ended (late data).  Rules with basis = "rtd" judge single values instead.
    means_interval_s: float = 300.0
    means_delay_s: float = 600.0
    #: Basis of every exceedance rule without its own: "" = the period of its limit;
    #: "rtd" judges every single value (the behaviour before issue 21 — instantaneous
    #: limits everywhere); "1h"/"8h"/"24h" one period.  Rule rows override it.
    exceedance_basis: Literal["", "rtd", "1h", "8h", "24h"] = ""
    #: Severity by exceedance ratio (mean ÷ limit): below exceedance_major_ratio 一般,
    #: from it 较重, from exceedance_critical_ratio 严重 (0 = that step off) …
    exceedance_major_ratio: float = 1.5
    exceedance_critical_ratio: float = 3.0
    #: … and by duration: an exceedance standing this long is at least 较重 / 严重.
    exceedance_major_after_s: float = 21_600.0
    exceedance_critical_after_s: float = 259_200.0
    #: basis = "rtd" rules — pending period: fire on the Nth consecutive value above the
    #: limit …
    pending_count: int = 2
    #: … or once the limit has been exceeded for this long (data time; 0 = off).
    pending_s: float = 0.0
    #: Hysteresis: resolve after this many consecutive values below the limit minus
    #: hysteresis_ratio × limit (above lower × (1 + ratio) for lower limits).
    clear_count: int = 2
    hysteresis_ratio: float = 0.05
    #: Hourly-AQI level alert (HJ 633 level 1..6, on station hourly data; 0 = off).
    aqi_level: int = 5

    # -- flatline (恒值) ----------------------------------------------------------------
    #: Fire when a value stays within flatline_tolerance for this many values … (0 = off)
    flatline_count: int = 30
    #: … or for this long (data time; 0 = off), whichever comes first, but never on fewer
    #: than flatline_min_count values.
    flatline_s: float = 3600.0
    flatline_min_count: int = 3
    flatline_tolerance: float = 0.0
    #: Constant readings at or below this share of the factor's limit are the analyser's
    #: floor (clean air, integer resolution), not a stuck sensor (0 = flag them too).
    flatline_min_value_ratio: float = 0.02
    #: A flatline (一般) lasting this long is 较重 / 严重 (0 = off).
    flatline_major_after_s: float = 21_600.0
    flatline_critical_after_s: float = 86_400.0

    # -- jump (突变) --------------------------------------------------------------------
    #: Relative change between consecutive values: |Δ| > jump_rel × the smaller of the two.
    jump_rel: float = 1.5
    #: … and |Δ| above this share of the factor's limit (keeps noise near zero quiet).
    jump_min_delta_ratio: float = 0.02
    #: Absolute bound on |Δ| (0 = off), z-score bound on an EWMA (0 = off), and a window
    #: (data time, 0 = off) over which the same relative/absolute bounds also apply.
    jump_abs: float = 0.0
    jump_sigma: float = 0.0
    jump_window_s: float = 0.0
    #: Resolve after this many consecutive values without a jump.
    jump_clear_count: int = 5

    # -- device-declared maintenance (M, C, D, F, 2005 P) --------------------------------
    #: A factor flagged maintenance/fault for this long raises a maintenance alert (0 = off).
    maintenance_s: float = 1800.0

    # -- engine ------------------------------------------------------------------------
    #: Alert transitions are written in batches at most this far apart.
    flush_ms: int = 200
    #: Rule state is saved this often (and at stop) …
    state_save_s: float = 60.0
    #: … and after a restart the last catchup_s of data (before the save) are re-evaluated.
    catchup_s: float = 300.0
    #: Configuration (limits, rules, routes, receivers) is reloaded this often even without
    #: a change notice.
    config_reload_s: float = 60.0

    # -- notifications -----------------------------------------------------------------
    #: How often the dispatcher looks at the groups (timers are checked then).
    dispatch_interval_s: float = 1.0
    group_wait_s: float = 30.0
    group_interval_s: float = 300.0
    repeat_interval_s: float = 14_400.0
    #: Most messages one receiver gets per rate_window_s (WeCom/DingTalk robots allow 20/min).
    max_messages_per_receiver: int = 20
    rate_window_s: float = 60.0
    #: Delivery attempts per message, with exponential back-off from retry_backoff_s.
    send_attempts: int = 6
    retry_backoff_s: float = 5.0
    retry_backoff_max_s: float = 600.0
    #: Link shown in messages (e.g. https://envgrid.example.gov.cn); empty = none.
    dashboard_url: str = ""
    #: At most this many alerts are listed in one message (the rest as a count).
    message_max_items: int = 30

    # -- email (aiosmtplib) --------------------------------------------------------------
    smtp_host: str = ""
    smtp_port: int = 25
    #: Implicit TLS (SMTPS, usually port 465) …
    smtp_tls: bool = False
    #: … or STARTTLS after connecting (usually port 587).
    smtp_starttls: bool = False
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "envgrid@localhost"
    smtp_timeout_s: float = 30.0

    # -- webhooks (aiohttp) --------------------------------------------------------------
    webhook_timeout_s: float = 10.0
    #: Networks (CIDRs) webhooks may reach although they are loopback, link-local or
    #: private, e.g. ``["10.20.0.0/16"]`` for an intranet relay; everything else that is
    #: not a public address is refused (alerts.notifiers.targets).  Redirects are never
    #: followed.
    webhook_allowed_networks: tuple[str, ...] = ()

    # -- SMS (alerts.notifiers.sms; checked by alerts.sms_settings) -----------------------
    #: Most SMS one receiver gets per hour (a receiver's ``max_per_hour`` setting may lower
    #: or raise it; 0 = no cap).  Excess messages are dropped, counted and logged, and the
    #: receiver's next SMS says how many were dropped.
    sms_max_per_hour: int = 10
    #: Longest value of one template variable (阿里云: 35 characters for notices).
    sms_param_max_chars: int = 35
    #: 阿里云短信 (dysmsapi 2017-05-25 SendSms, V3 signature ACS3-HMAC-SHA256).  The secret
    #: is a setting (file or ENVGRID_ALERTS__SMS_ALIYUN_ACCESS_KEY_SECRET), never stored
    #: in the database or shown.
    sms_aliyun_endpoint: str = "https://dysmsapi.aliyuncs.com"
    sms_aliyun_access_key_id: str = ""
    sms_aliyun_access_key_secret: str = ""
    sms_aliyun_sign_name: str = ""
    #: Message kind (alert, reminder, ranking = the daily push, test, notice = case and
    #: patrol notices) → template code,
    #: e.g. ``{ alert = "SMS_123456789", ranking = "SMS_223456789" }``.
    sms_aliyun_templates: dict[str, str] = field(default_factory=dict)
    #: Message kind → the template's variables, comma-separated, e.g. ``{ ranking =
    #: "date,rank,exceed,overdue,offline" }`` (that is the default for ranking; alert,
    #: reminder and test default to "summary"; README "SMS" lists every variable).
    sms_aliyun_params: dict[str, str] = field(default_factory=dict)
    #: 腾讯云短信 (sms 2021-01-11 SendSms, signature TC3-HMAC-SHA256).
    sms_tencent_endpoint: str = "https://sms.tencentcloudapi.com"
    sms_tencent_region: str = "ap-guangzhou"
    sms_tencent_secret_id: str = ""
    sms_tencent_secret_key: str = ""
    sms_tencent_sdk_app_id: str = ""
    sms_tencent_sign_name: str = ""
    #: Message kind → template id (a number, as a string): ``{ ranking = "1234567" }``.
    sms_tencent_templates: dict[str, str] = field(default_factory=dict)
    #: Message kind → the variables {1}, {2}, … in order, comma-separated (defaults as
    #: for sms_aliyun_params).
    sms_tencent_params: dict[str, str] = field(default_factory=dict)

    # -- scheduled jobs (core.timezone wall clock) ---------------------------------------
    #: Push the daily report (at aggregates.daily_ranking_time: AQCI ranking, the day's
    #: exceedances, overdue cases, offline stations) to responsible people.
    daily_push: bool = True
    housekeeping_time: str = "03:40"
    #: Resolved alerts, their history and the delivery log are kept this long.
    history_days: int = 400

    def __post_init__(self) -> None:
        for names, low, strict, rule in (
            (_POSITIVE, 0, True, "> 0"),
            (_NON_NEGATIVE, 0, False, "≥ 0, 0 = off"),
            (_AT_LEAST_ONE, 1, False, "≥ 1"),
        ):
            for name in names:
                value = getattr(self, name)
                ok = value > low if strict else value >= low
                require(ok, f"alerts.{name} must be {rule} (got {value})")
        require(
            0 < self.inhibit_ratio <= 1,
            f"alerts.inhibit_ratio must be in (0, 1] (got {self.inhibit_ratio})",
        )
        require(
            self.hysteresis_ratio < 1,
            f"alerts.hysteresis_ratio must be below 1 (got {self.hysteresis_ratio})",
        )
        require(
            self.exceedance_basis in ("", "rtd", "1h", "8h", "24h"),
            "alerts.exceedance_basis must be '', rtd, 1h, 8h or 24h"
            f" (got {self.exceedance_basis!r})",
        )
        for name in ("exceedance_major_ratio", "exceedance_critical_ratio"):
            value = getattr(self, name)
            require(
                value == 0 or 1 <= value < float("inf"),
                f"alerts.{name} must be a multiple of the limit ≥ 1, or 0 = off (got {value})",
            )
        for low_name, high_name in (
            ("exceedance_major_ratio", "exceedance_critical_ratio"),
            ("exceedance_major_after_s", "exceedance_critical_after_s"),
            ("offline_major_after_s", "offline_critical_after_s"),
            ("flatline_major_after_s", "flatline_critical_after_s"),
        ):
            a, b = getattr(self, low_name), getattr(self, high_name)
            require(
                not (a and b and b < a),
                f"alerts.{high_name} ({b}) must not be below alerts.{low_name} ({a})",
            )
        require(
            0 <= self.aqi_level <= 6,
            f"alerts.aqi_level must be an HJ 633 level 1..6, or 0 = off (got {self.aqi_level})",
        )
        for network in self.webhook_allowed_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                require(
                    False,
                    f"alerts.webhook_allowed_networks: {network!r} is not a network"
                    " (CIDR such as 10.20.0.0/16, or an address)",
                )
        require(
            1 <= self.smtp_port <= 65535,
            f"alerts.smtp_port must be 1..65535 (got {self.smtp_port})",
        )
        require(
            not (self.smtp_tls and self.smtp_starttls),
            "alerts.smtp_tls (implicit TLS, port 465) and alerts.smtp_starttls (port 587)"
            " exclude each other; set one",
        )
        require(
            bool(self.smtp_user) or not self.smtp_password,
            "alerts.smtp_password is set but alerts.smtp_user is empty",
        )
        require(
            "@" in self.smtp_from,
            f"alerts.smtp_from must be an email address (got {self.smtp_from!r})",
        )
        check_sms_settings(self)
        require(
            is_hhmm(self.housekeeping_time),
            f"alerts.housekeeping_time must be HH:MM (got {self.housekeeping_time!r})",
        )


class AlertsConfig(AggregatesConfig, Protocol):
    """What the alerts package reads of the root settings (``envgrid.settings.Settings``)."""

    @property
    def alerts(self) -> AlertSettings: ...
