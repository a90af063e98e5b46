-- Daily rollups of the window tables (services/shared/vitals/rollup.ts, docs/benchmarks.md
-- "read at scale"): a read at step=1d, month or quarter over a quarter reads one row per
-- key and day instead of 1,440.
--
-- kpi_1d / probe_kpi_1d: the same columns as kpi_1m / probe_kpi_1m (window_start is the
-- UTC day), each row the exact sum of that day's one-minute rows (FINAL) of its key:
-- sumMap(sums) and sums of the counts. Rolling a day again writes every key again with a
-- higher version.
--
-- rollup_days: per window table and day, the newest written_at among the one-minute rows a
-- rollup read. A read takes a day from the rollup only while no one-minute row of it (under
-- the read's filter) was written after that: a late event, a correction, a checkpoint or a
-- back-dated maintenance window makes the day read from the one-minute rows again until
-- the rollup job rolls it anew. So a rollup can be late, never wrong.
CREATE TABLE IF NOT EXISTS {{db}}.kpi_1d
(
    family            LowCardinality(String),
    service           LowCardinality(String),
    region            LowCardinality(String),
    segment           LowCardinality(String),
    channel           LowCardinality(String),
    queue             LowCardinality(String),
    origin            LowCardinality(String),
    window_start      DateTime64(3, 'UTC'),
    sums              Map(LowCardinality(String), Float64),
    version           UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (family, service, region, window_start, segment, channel, queue, origin);

CREATE TABLE IF NOT EXISTS {{db}}.probe_kpi_1d
(
    service           LowCardinality(String),
    region            LowCardinality(String),
    origin            LowCardinality(String),
    window_start      DateTime64(3, 'UTC'),
    samples           UInt64,
    attempts          UInt64,
    successes         UInt64,
    planned_attempts  UInt64,
    planned_successes UInt64,
    retro_attempts    UInt64,
    retro_successes   UInt64,
    version           UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (service, region, window_start, origin);

CREATE TABLE IF NOT EXISTS {{db}}.rollup_days
(
    source_table      LowCardinality(String),
    day               DateTime64(3, 'UTC'),
    source_written_at DateTime64(3, 'UTC'),
    source_rows       UInt64,
    version           UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (source_table, day);

-- The check above reads only granules with rows written after a rollup's stamp.
ALTER TABLE {{db}}.kpi_1m ADD INDEX IF NOT EXISTS written_at_minmax written_at TYPE minmax GRANULARITY 1;

ALTER TABLE {{db}}.probe_kpi_1m ADD INDEX IF NOT EXISTS written_at_minmax written_at TYPE minmax GRANULARITY 1;

ALTER TABLE {{db}}.kpi_1m MATERIALIZE INDEX written_at_minmax;

ALTER TABLE {{db}}.probe_kpi_1m MATERIALIZE INDEX written_at_minmax;
