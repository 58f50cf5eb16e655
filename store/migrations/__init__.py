"""Schema migrations, applied in order by :mod:`store.migrate`.

``NNNN_name.sql`` runs on every engine; ``NNNN_name.timescaledb.sql`` and
``NNNN_name.postgresql.sql`` run right after it, in the same transaction, on that
engine only (either may exist without the common file).  Never edit an applied
migration: add a new one.  Each file runs inside one transaction, so statements that
refuse transaction blocks are not allowed (e.g. ``CREATE INDEX CONCURRENTLY``; create
TimescaleDB continuous aggregates ``WITH NO DATA`` and let the refresh policy fill them).
"""
