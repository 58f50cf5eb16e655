"""Patrol (巡查) module: plans, generated tasks, check-ins, checklists, hazards (隐患) and
statistics.  SQL lives in :mod:`web.patrol.queries`."""
