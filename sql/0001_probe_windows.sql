-- One row per (service, region, 1-minute event-time window) of probe results.
-- Counts only (numerators and denominators), so any coarser bucket is an exact sum.
-- planned_*: probe results inside maintenance declared before it started.
-- retro_*:   probe results inside maintenance declared only after it started
--            (reported; excused in Availability only if configured).
-- A window is rewritten as a new version when late events or a late maintenance
-- declaration change it; ReplacingMergeTree(version) keeps the newest, and the same
-- (key, version) always carries the same row, so a rewrite is idempotent.
-- bus_epoch / source_partition / last_offset let a restarted aggregator tell which
-- redelivered messages this row already counts (see services/aggregator/recovery.ts).
CREATE TABLE IF NOT EXISTS {{db}}.probe_kpi_1m
(
    service           LowCardinality(String),
    region            LowCardinality(String),
    window_start      DateTime64(3, 'UTC'),
    samples           UInt64,
    attempts          UInt64,
    successes         UInt64,
    planned_attempts  UInt64,
    planned_successes UInt64,
    retro_attempts    UInt64,
    retro_successes   UInt64,
    version           UInt64,
    bus_epoch         String,
    source_partition  String,
    last_offset       Int64,
    written_at        DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (service, region, window_start);

-- Planned-maintenance declarations, newest declaration per id wins.
-- region '' means every region of the service.
CREATE TABLE IF NOT EXISTS {{db}}.maintenance_windows
(
    maintenance_id String,
    service        LowCardinality(String),
    region         LowCardinality(String),
    start_at       DateTime64(3, 'UTC'),
    end_at         DateTime64(3, 'UTC'),
    declared_at    DateTime64(3, 'UTC'),
    retroactive    UInt8,
    description    String,
    version        UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY maintenance_id;

-- Events that arrived after their window was final (beyond the allowed lateness).
-- Kept, counted and queryable: never silently dropped.
CREATE TABLE IF NOT EXISTS {{db}}.late_events
(
    source       LowCardinality(String),
    event_id     String,
    service      LowCardinality(String),
    region       LowCardinality(String),
    event_time   DateTime64(3, 'UTC'),
    watermark    DateTime64(3, 'UTC'),
    late_by_ms   Int64,
    payload      String,
    received_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (source, event_id);
