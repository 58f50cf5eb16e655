"""Station pages and API: detail, real-time values, charts, packet ledger, equipment
status, remote commands, and the registry administration (add/edit/disable, pending)."""
