"""Grid (网格) module: the area hierarchy, its people and units, GeoJSON import/export,
point-in-polygon assignment with history.  SQL lives in :mod:`web.casework.grid.queries`.

Web layer (round 2): :mod:`.routes`, :mod:`.handlers` (API and pages) and :mod:`.views`
(map layers, grid detail, people edits in the caller's data scope); the command line is
``envgrid grid`` (:mod:`web.casework.grid.cli`)."""
