"""Rankings: daily AQI, the composite index (AQCI) or one factor, of stations, regions or
grids, for a day, the last 7 days, the last 3 months or a custom range — within the
caller's data scope — with XLSX/CSV export."""
