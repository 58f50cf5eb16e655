-- 0002 ingest, plain PostgreSQL: native range partitions (created ahead of time by the
-- housekeeping job and on demand by the writer; retention drops whole partitions).
CREATE TABLE packet_ledger (LIKE ledger_row INCLUDING ALL) PARTITION BY RANGE (data_time);
CREATE TABLE measurements_rtd (LIKE measurement_row INCLUDING ALL) PARTITION BY RANGE (ts);
CREATE TABLE measurements_minute (LIKE measurement_row INCLUDING ALL) PARTITION BY RANGE (ts);
CREATE TABLE measurements_hour (LIKE measurement_row INCLUDING ALL) PARTITION BY RANGE (ts);
CREATE TABLE measurements_day (LIKE measurement_row INCLUDING ALL) PARTITION BY RANGE (ts);
CREATE TABLE equipment_status (LIKE equipment_status_row INCLUDING ALL)
    PARTITION BY RANGE (ts);
