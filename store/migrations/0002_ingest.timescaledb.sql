-- 0002 ingest, TimescaleDB: hypertables with compression; retention policies are set at
-- start-up from the configuration (ingest.retention_*), see store/partitions.py.
CREATE TABLE packet_ledger (LIKE ledger_row INCLUDING ALL);
CREATE TABLE measurements_rtd (LIKE measurement_row INCLUDING ALL);
CREATE TABLE measurements_minute (LIKE measurement_row INCLUDING ALL);
CREATE TABLE measurements_hour (LIKE measurement_row INCLUDING ALL);
CREATE TABLE measurements_day (LIKE measurement_row INCLUDING ALL);
CREATE TABLE equipment_status (LIKE equipment_status_row INCLUDING ALL);

SELECT create_hypertable('packet_ledger', 'data_time', chunk_time_interval => interval '1 day');
SELECT create_hypertable('measurements_rtd', 'ts', chunk_time_interval => interval '1 day');
SELECT create_hypertable('measurements_minute', 'ts', chunk_time_interval => interval '1 day');
SELECT create_hypertable('measurements_hour', 'ts', chunk_time_interval => interval '30 days');
SELECT create_hypertable('measurements_day', 'ts', chunk_time_interval => interval '365 days');
SELECT create_hypertable('equipment_status', 'ts', chunk_time_interval => interval '1 day');

ALTER TABLE measurements_rtd SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'station_id, factor_id', timescaledb.compress_orderby = 'ts');
ALTER TABLE measurements_minute SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'station_id, factor_id', timescaledb.compress_orderby = 'ts');
ALTER TABLE packet_ledger SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'station_id', timescaledb.compress_orderby = 'data_time');
SELECT add_compression_policy('measurements_rtd', interval '2 days');
SELECT add_compression_policy('measurements_minute', interval '2 days');
SELECT add_compression_policy('packet_ledger', interval '3 days');
