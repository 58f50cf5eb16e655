"""Settings of the alert engine (section ``[alerts]`` of envgrid.toml).

Defaults of the rules (each can be overridden per station type, region, station and
factor in the ``alert_rule_config`` table), the offline sweeper, the notification
timers (Alertmanager-style, overridable per route), the channels (SMTP, webhooks) and
the scheduled jobs.  Times are seconds unless the name says otherwise.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final, Protocol

from aggregates.settings import AggregatesConfig
from store.validation import is_hhmm, require

__all__ = ["AlertSettings", "AlertsConfig"]


#: Settings checked by AlertSettings: > 0, ≥ 0 (0 = off), ≥ 1.
_POSITIVE: Final = (
    "offline_after_s",
    "offline_remind_s",
    "sweep_interval_s",
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
)
_AT_LEAST_ONE: Final = (
    "pending_count",
    "clear_count",
    "flatline_min_count",
    "jump_clear_count",
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
    #: How often the offline sweeper runs.
    sweep_interval_s: float = 10.0
    #: Inhibition: this many stations of one region / ingest worker offline at once, and at
    #: least this share of them, become one grouped notice instead of one per station.
    inhibit_min_stations: int = 10
    inhibit_ratio: float = 0.3

    # -- exceedance (超标) --------------------------------------------------------------
    #: Pending period: fire on the Nth consecutive value above the limit …
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

    # -- scheduled jobs (core.timezone wall clock) ---------------------------------------
    #: Push the daily ranking (at aggregates.daily_ranking_time) to responsible people.
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
        require(
            is_hhmm(self.housekeeping_time),
            f"alerts.housekeeping_time must be HH:MM (got {self.housekeeping_time!r})",
        )


class AlertsConfig(AggregatesConfig, Protocol):
    """What the alerts package reads of the root settings (``envgrid.settings.Settings``)."""

    @property
    def alerts(self) -> AlertSettings: ...
