"""Reports: hour/day/week/旬/month/year/custom reports of a station, a region or a grid
(``aggregates.reports``), built as background jobs with progress, previewed on the page
and exported as XLSX, PDF, DOCX, PNG/JPG or CSV (``aggregates.exports``)."""
