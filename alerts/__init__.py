"""Alert engine: exceedance (超标), offline (断线), flatline (恒值), jump (突变) and
device-declared maintenance — evaluated as data arrives, notified without storms.

Modules
-------
* :mod:`.rules` — pure rule evaluation over small state objects (mypy --strict), with
  :mod:`.rules_base`, :mod:`.rules_exceedance` (single values, ``basis = "rtd"``) and
  :mod:`.rules_offline`; :mod:`.means` — exceedance on the 1-h, O3 8-h and 24-h means its
  limits are defined for; :mod:`.severity` — 一般/较重/严重 by ratio and duration;
* :mod:`.limits` — built-in limits (GB 3095 by date, emission standards by station type,
  hourly-AQI level thresholds from HJ 633);
* :mod:`.config` — the configuration snapshot and its resolution per station and factor;
  :mod:`.params` — the rule parameters users may set; :mod:`.loader` — reading it all;
* :mod:`.engine` — the in-stream evaluator (readings → transitions), in batches over
  :mod:`.states` — the rule states as numpy columns with the rules' fast paths, slots
  found through :mod:`.keyindex`;
* :mod:`.means_job` — the hourly judge of exceedances on means (``hourly_values``);
* :mod:`.sweeper` — the offline sweep (one query over ``station_state``) and the grouped
  offline alerts that inhibit per-station notices;
* :mod:`.writer` — transitions → ``alerts``/``alert_events`` in batched transactions;
* :mod:`.routing`, :mod:`.grouping` — routes, responsibilities, silences, maintenance
  windows; Alertmanager's group_wait/group_interval/repeat_interval (pure);
* :mod:`.dispatcher` — decisions → the delivery log; :mod:`.outbox` — the delivery log
  and the sender with retries and rate limits; :mod:`.notifiers` — email (aiosmtplib),
  webhooks, WeCom, DingTalk (aiohttp);
* :mod:`.templates` — messages in Simplified Chinese; :mod:`.ranking` — the daily push;
* :mod:`.service` — everything together; :mod:`.jobs` — its scheduled jobs as data
  (:class:`store.jobs.Job`); :mod:`.process` — ``run_alerts`` for ``envgrid serve`` with
  the process's one scheduler; :mod:`.cli` — ``envgrid alerts``;
* :mod:`.api` — the Python API for the web process and the CLI, one module per resource
  (alerts must not import web).

Contracts
---------
Input: ``NOTIFY envgrid_readings`` (:mod:`store.feed`), sent by the ingest writer inside
each batch transaction, so every committed value arrives once, in commit order; and
``station_state`` for the offline sweep.

Output — ``NOTIFY envgrid_alerts``, payload ``"<alert_id>:<state>"`` with state one of
``pending``, ``firing``, ``acknowledged``, ``resolved``.  Sent in the same transaction as
the change, so it is delivered only once the change is committed and a listener reading
the alert sees at least that state.  One notification per alert per batch (the alert's
state at the end of the batch: a pending alert cancelled within one batch is announced
once, as ``resolved``).  The same payload is also sent when other fields of an alert
change without a state change (assignee, inhibition, a comment, a severity escalated by
ratio or duration — event ``escalated``); listeners re-read the row
(``alerts.api.get_alert``).  The web dashboard (live updates) and the case module
(alerts become cases) listen here.

``NOTIFY envgrid_alert_config``, payload: the table that changed (``alert_limits``,
``alert_routes`` …), sent by the configuration functions of :mod:`.api`; the engine
reloads its configuration at once (and every ``alerts.config_reload_s`` anyway).

Alert identity: at most one open alert (state other than ``resolved``) per
(rule, scope, factor) — the partial unique index ``alerts_open_idx``; scope
``station:<id>`` for station alerts, ``region:<name>``/``worker:<n>``/``all`` for the
grouped ``offline_mass`` alerts.
"""

from .model import ALERTS_CHANNEL, CONFIG_CHANNEL, RULE_ZH, SEVERITY_ZH, STATE_ZH, STATES

__all__ = ["ALERTS_CHANNEL", "CONFIG_CHANNEL", "RULE_ZH", "SEVERITY_ZH", "STATES", "STATE_ZH"]
