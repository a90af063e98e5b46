-- Every counted event of every source, as it was on the bus (JSON of the Avro record):
-- for drill-down ("the failed probes of that minute"), for backfill, and as the
-- authority on which eventIds a window already counts (dedupe across restarts and
-- replays). Written after the window rows that count them.
-- Rows of the same (source, service, region, ts, event_id) are the same event.
-- Retention: a TTL on stored_at (not on the event time: replayed history stays), set at
-- start from CXV_RAW_RETENTION_DAYS.
CREATE TABLE IF NOT EXISTS {{db}}.raw_events
(
    source       LowCardinality(String),
    event_id     String,
    service      LowCardinality(String),
    region       LowCardinality(String),
    segment      LowCardinality(String),
    ts           DateTime64(3, 'UTC'),
    received_at  DateTime64(3, 'UTC'),
    payload      String CODEC(ZSTD(3)),
    stored_at    DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (source, service, region, ts, event_id);
