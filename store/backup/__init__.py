"""Backup and restore: one archive with the database (``pg_dump`` custom format, taken
from one snapshot while envgrid serves), the uploads, the configuration and the secret
key, with a manifest of versions, row counts and checksums.

Modules: :mod:`.settings` (``[backup]``), :mod:`.manifest` (pure), :mod:`.archive` (the
tar file), :mod:`.snapshot` (the consistent view and the table sums), :mod:`.pgtools`
(pg_dump/pg_restore), :mod:`.create`, :mod:`.target` and :mod:`.restore`,
:mod:`.catalog` (list and keep), :mod:`.progress` (the terminal display).  The command
``envgrid backup`` and the scheduled job are wired in ``envgrid/`` (they need the
uploads directory of the web package and the alert of the alerts package).

Why pg_dump and not pgBackRest/WAL archiving: a logical dump restores on any server of
the same or a newer major version, carries the schema version and checks itself row by
row, and needs nothing configured on the database server — the right default for the
embedded cluster and a bureau's single host.  It cannot recover to a point in time
between two backups; where that matters, run pgBackRest (or WAL archiving with
``pg_basebackup``) on the database server as docs/operations.md describes, and keep
these backups for the files and the key.
"""
