"""What the grid, patrol and case modules share; imports none of them.

:mod:`.tree` (the area tree and the data-scope query, written once), :mod:`.people`
(units, people, roles, grid duties, the acting :class:`~.people.Actor`),
:mod:`.calendar` (working-time arithmetic) and :mod:`.worktime` (the stored calendar),
:mod:`.uploads` (photos and attachments), :mod:`.notices` (the notice outbox),
:mod:`.access` (the caller, refusals → HTTP errors), :mod:`.errors`,
:mod:`.settings` / :mod:`.config` (the ``[cases]`` section).  SQL lives in :mod:`.queries`.
"""
