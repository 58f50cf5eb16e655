"""The composition root: the only package that wires the others together.

``envgrid.cli`` (the ``envgrid`` command), ``envgrid.serve`` and ``envgrid.supervisor``
(the processes of a deployment), ``envgrid.scheduler`` (the one scheduler) and
``envgrid.settings`` (the root settings, one section per package).  Nothing imports
this package; it imports the others (see docs/architecture.md).
"""
