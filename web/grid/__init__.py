"""Grid (网格) module: the area hierarchy, its people and units, GeoJSON import/export,
point-in-polygon assignment with history.  SQL lives in :mod:`web.grid.queries`."""
