"""The 系统备份 page (administrators, ``system:backup``): the backup settings in force, the
backups in ``backup.dir``, the runs with their progress, the open 备份失败 alert, and
立即备份 — a request the leader's scheduler runs (:mod:`store.backup.runs`).  Restoring
and downloading are not offered in the browser (the page says why)."""
