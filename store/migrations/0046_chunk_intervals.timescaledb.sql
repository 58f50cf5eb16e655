-- 0046 chunk intervals sized for 50,000 stations (TimescaleDB; new chunks only).
--
-- TimescaleDB's advice: the chunks being written, with their indexes, should fit in about a
-- quarter of memory.  At 50,000 stations with ~8 factors each (about 100 bytes a row with
-- its index share): real-time data every 30 s is ~1.15 billion rows a day (~115 GB), minute
-- data ~0.58 billion (~58 GB), the packet ledger ~0.2 billion (one row per frame), hourly
-- data ~10 million, daily ~0.4 million.  The 1-day chunks of 0002 would hold tens of GB
-- each; these intervals keep the chunk in work to a few GB on a 24 GB machine.  Smaller
-- deployments get more, smaller chunks (a month of real-time data: 720), which costs
-- little with chunk exclusion on time.
SELECT set_chunk_time_interval('measurements_rtd', INTERVAL '1 hour');
SELECT set_chunk_time_interval('measurements_minute', INTERVAL '2 hours');
SELECT set_chunk_time_interval('packet_ledger', INTERVAL '4 hours');
SELECT set_chunk_time_interval('equipment_status', INTERVAL '6 hours');
SELECT set_chunk_time_interval('measurements_hour', INTERVAL '7 days');
SELECT set_chunk_time_interval('measurements_day', INTERVAL '90 days');
