"""Case (案件) module: the lifecycle (:mod:`.workflow`), working-time limits
(:mod:`.calendar`), services, assessment, the alert → case bridge and public complaints.
SQL lives in :mod:`web.casework.cases.queries`.

Web layer (round 2): :mod:`.routes` (API, pages, navigation, background contexts),
:mod:`.handlers` / :mod:`.pages` (thin), :mod:`.access` (the caller as a workflow actor,
refusals → HTTP errors, photo uploads — shared with the grid and patrol modules),
:mod:`.actions` (case page data, manual reports, assessment views and exports),
:mod:`.board` (the board by phase, "my cases"), :mod:`.notify` (notices through the alert
notifiers) and :mod:`.background` (bridge listener + scheduled jobs)."""
