"""Case (案件) module: the lifecycle (:mod:`.workflow`), working-time limits
(:mod:`.calendar`), services, assessment, the alert → case bridge and public complaints.
SQL lives in :mod:`web.cases.queries`."""
