"""What the grid, patrol and case modules share; imports none of them.

:mod:`.tree` (the area tree and the data-scope query, written once), :mod:`.people`
(units, people, grid duties), :mod:`.calendar` (working-time arithmetic),
:mod:`.uploads` (photos and attachments), :mod:`.access` (the caller, refusals → HTTP
errors), :mod:`.settings` / :mod:`.config` (the ``[cases]`` section).  SQL lives in
:mod:`.queries`.
"""
