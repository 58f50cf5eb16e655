"""Forwarding to upstream platforms (数据同步转发, HJ 212): every stored frame of the
selected stations and CNs goes, re-encoded for the target, to the provincial or national
platform over one long-lived TCP connection per target, and stays in a durable backlog
until the upstream acks it with 9014.

Modules: :mod:`.targets` (the operator's input, the MN map CSV; pure), :mod:`.reencode`
(a stored frame → the target's frame; pure), :mod:`.queries` (SQL), :mod:`.repo`
(targets in the database, secrets sealed), :mod:`.link` (one target's connection,
window, acks, resends — its docstring is the theory of operation), :mod:`.service` (every
target's link in one process), :mod:`.metrics`, :mod:`.process` (the ``envgrid-forward``
process), :mod:`.cli` (``envgrid forward``).

The backlog (``forward_outbox``) is filled by the ingest writer with the statement that
stores each frame in the packet ledger (``ingest.queries.INSERT_LEDGER_SQL``), so live
data, history replies, backfill (RF=1) and spool replays all enter it the same way.
"""
