-- The CSI of each (service, region, minute), as scored by a model version, with its
-- explanation (each KQI's contribution and points lost, and the KPI scores below each
-- KQI, as JSON). Rows of different model versions are kept side by side: recomputing
-- a range under a new model adds rows for that version and leaves older ones as they
-- were. A recompute of the same version replaces its rows (newest computed_at wins).
CREATE TABLE IF NOT EXISTS {{db}}.csi_1m
(
    model_version  UInt32,
    model_hash     String,
    service        LowCardinality(String),
    region         LowCardinality(String),
    window_start   DateTime64(3, 'UTC'),
    csi            Nullable(Float64),
    coverage       Float64,
    kqi_scores     Map(LowCardinality(String), Float64),
    explanation    String CODEC(ZSTD(3)),
    summary        String,
    computed_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (model_version, service, region, window_start);
