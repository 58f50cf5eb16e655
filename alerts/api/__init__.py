"""The Python API of the alert engine for the web process and the CLI.

Every function takes an asyncpg pool or connection (``db``) first.  Changes to alerts
are announced on ``envgrid_alerts`` (``"<id>:<state>"``) and changes to the
configuration on ``envgrid_alert_config`` (payload: the table), inside the same
transaction as the change.  Invalid input raises :class:`AlertApiError` (a
``ValueError``) with a message meant for the user, in English (``str(exc)``, the CLI)
and in Chinese (``exc.zh``, the dashboard); a missing object raises :class:`NotFound`,
a refusal because of what is stored (a name taken, an alert already handled)
:class:`Conflict`.  Configuration objects come back as JSON-ready dicts; alerts as
:class:`~alerts.model.AlertView` (``.to_json()``).

One module per resource: :mod:`.alerts` (the alerts and what users do to them),
:mod:`.notifications` (the delivery log), :mod:`.receivers` (and responsibilities),
:mod:`.routes`, :mod:`.silences` (and maintenance windows), :mod:`.rules` (limits, rule
configuration, the effective rules of a station); :mod:`.common` holds what they share.
"""

from __future__ import annotations

from .alerts import (
    AlertDetail,
    AlertPage,
    acknowledge_alert,
    assign_alert,
    comment_alert,
    get_alert,
    list_alerts,
    resolve_alert,
)
from .common import AlertApiError, Conflict, NotFound
from .notifications import Page, get_notification, list_notifications
from .receivers import (
    add_responsibility,
    create_receiver,
    delete_receiver,
    get_receiver,
    list_receivers,
    list_responsibilities,
    remove_responsibility,
    update_receiver,
)
from .routes import create_route, delete_route, list_routes, update_route
from .rules import (
    delete_limit,
    delete_rule_config,
    effective_rules,
    list_limits,
    list_rule_configs,
    set_limit,
    set_rule_config,
)
from .silences import (
    create_silence,
    create_window,
    delete_silence,
    delete_window,
    expire_silence,
    list_silences,
    list_windows,
    update_window,
)

__all__ = [
    "AlertApiError",
    "AlertDetail",
    "AlertPage",
    "Conflict",
    "NotFound",
    "Page",
    "acknowledge_alert",
    "add_responsibility",
    "assign_alert",
    "comment_alert",
    "create_receiver",
    "create_route",
    "create_silence",
    "create_window",
    "delete_limit",
    "delete_receiver",
    "delete_route",
    "delete_rule_config",
    "delete_silence",
    "delete_window",
    "effective_rules",
    "expire_silence",
    "get_alert",
    "get_notification",
    "get_receiver",
    "list_alerts",
    "list_limits",
    "list_notifications",
    "list_receivers",
    "list_responsibilities",
    "list_routes",
    "list_rule_configs",
    "list_silences",
    "list_windows",
    "remove_responsibility",
    "resolve_alert",
    "set_limit",
    "set_rule_config",
    "update_receiver",
    "update_route",
    "update_window",
]
