"""Case (案件) module: the lifecycle (:mod:`.workflow`), services, assessment, the
alert → case bridge and public complaints.  SQL lives in :mod:`.queries`.

Web layer: :mod:`.routes` (API, pages, navigation, the bridge listener context),
:mod:`.handlers` / :mod:`.pages` (thin), :mod:`.actions` (case page data, manual reports,
assessment views and exports), :mod:`.board` (the board by phase, "my cases") and
:mod:`.notify` (notices through the alert notifiers).  The caller, refusals and uploads
are the kernel's (:mod:`web.casework.kernel.access`); the scheduled jobs are in
:mod:`web.casework.jobs`."""
