-- One row per (family, key, 1-minute event-time window) for the KPI families of the
-- full model (probe quality, contact center, survey, social, declared sources).
-- `sums` holds every additive number of the family's accumulator by name, including
-- sketch buckets as `<sketch>#<bucket>` (see services/aggregator/flatten.ts), so any
-- coarser grain is `sumMap(sums)`: exact sums of counts and merged sketches.
-- Dimensions a family does not have are ''.
-- Versioning and recovery columns as in probe_kpi_1m.
CREATE TABLE IF NOT EXISTS {{db}}.kpi_1m
(
    family            LowCardinality(String),
    service           LowCardinality(String),
    region            LowCardinality(String),
    segment           LowCardinality(String),
    channel           LowCardinality(String),
    queue             LowCardinality(String),
    window_start      DateTime64(3, 'UTC'),
    sums              Map(LowCardinality(String), Float64),
    version           UInt64,
    bus_epoch         String,
    source_partition  String,
    last_offset       Int64,
    written_at        DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (family, service, region, window_start, segment, channel, queue);
