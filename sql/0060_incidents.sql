-- Early warning across signals (services/incidents, docs/incidents.md).
--
-- anomaly_1m: every signal's score per (service, region, minute), with the baseline it was
-- judged against, so a score is explainable from its row alone. Recomputing a minute (late
-- data, a restart) writes the same key again; the newest computed_at wins.
CREATE TABLE IF NOT EXISTS {{db}}.anomaly_1m
(
    service           LowCardinality(String),
    region            LowCardinality(String),
    window_start      DateTime64(3, 'UTC'),
    signal            LowCardinality(String),
    value             Nullable(Float64),
    events            UInt64,
    baseline          Nullable(Float64),
    spread            Nullable(Float64),
    baseline_kind     LowCardinality(String),
    baseline_samples  UInt32,
    score             Nullable(Float64),
    anomalous         UInt8,
    reason            String,
    computed_at       DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (service, region, window_start, signal);

-- incidents: one row per incident and version (the last minute evaluated). The id is a hash
-- of (service, region, start minute), so the incidents derived again from the stored minutes
-- after a restart replace their own rows. status: open, resolved, or withdrawn (an open
-- incident that recomputation no longer finds, e.g. after late data moved its start).
CREATE TABLE IF NOT EXISTS {{db}}.incidents
(
    id                  String,
    service             LowCardinality(String),
    region              LowCardinality(String),
    status              LowCardinality(String),
    start               DateTime64(3, 'UTC'),
    opened_at           DateTime64(3, 'UTC'),
    resolved_at         Nullable(DateTime64(3, 'UTC')),
    last_anomalous      DateTime64(3, 'UTC'),
    trigger             String,
    signals             String CODEC(ZSTD(3)),
    retroactive         UInt8,
    planned_in_force    UInt8,
    maintenance_ids     Array(String),
    customers_affected  Nullable(UInt64),
    customers_reason    String,
    version             UInt64,
    computed_at         DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;
