"""Patrol (巡查) module: plans, generated tasks, check-ins, checklists, hazards (隐患) and
statistics.  SQL lives in :mod:`.queries`.

Web layer (round 2): :mod:`.routes`, :mod:`.handlers` (API and pages) and :mod:`.views`
(task and hazard pages in the caller's data scope, who may plan)."""
