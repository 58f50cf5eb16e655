"""The sample city of ``envgrid demo load`` / ``envgrid demo clear``.

* :mod:`.world` — areas (five levels, generated boundaries: :mod:`.geometry`), units,
  grid people, one dashboard login per role, stations and patrol points (``city.json``);
* :mod:`.readings` — the stations' last days of data through the simulator's value model
  and the ingest writer;
* :mod:`.activity` — patrol plans and tasks, cases through the real workflow, alerts;
* :mod:`.marker` — the ``demo_objects`` list of everything created;
* :mod:`.clear` — removes exactly that;
* :mod:`.cli` — the ``envgrid demo`` command.
"""
