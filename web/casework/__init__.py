"""Casework: the grid (网格), patrol (巡查) and case (案件) modules of the web app.

Layers inside the package look only down: :mod:`.kernel` (what all three share: the
area tree and its data-scope query, units and people, the working-time calendar,
attachments, the caller and its refusals, the ``[cases]`` settings) ← :mod:`.grid` ←
:mod:`.cases` and :mod:`.patrol` (a hazard becomes a case, so patrol may use cases).
:mod:`.jobs` sits on top: the scheduled jobs of all three, as :class:`store.jobs.Job`
values for the deployment's one scheduler.  Every database call of a module goes
through its package's ``queries`` module.
"""
