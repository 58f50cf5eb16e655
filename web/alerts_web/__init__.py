"""Alert pages: open and recent alerts with acknowledge/resolve/assign/comment, the alert
history and its notifications, silences and maintenance windows, the notification log,
routes and receivers (admins) — on ``alerts.api``, within the caller's data scope."""
