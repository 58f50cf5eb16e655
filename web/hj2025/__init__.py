"""HJ 212-2025 in the dashboard: loggers waiting for an MN (CN 1001/1002) and the 2025
records of a station (2013 raw data, 2052 noise, 2062 standard-sample checks, 2111 furnace
temperature)."""
