-- Corrections and retractions (docs/corrections.md).
--
-- event_versions: per (source, eventId), every version the aggregator has seen, in the
-- order it read them: the fingerprint of each (a hash of its content without
-- receivedAt; a retraction has its own), its content (JSON of the record; '' for a
-- retraction) and when ingest received it. The one received last is current. A version
-- whose fingerprint is in the list is a re-send. The content of the other versions is
-- what a correction subtracts from the windows they were counted in.
CREATE TABLE IF NOT EXISTS {{db}}.event_versions
(
    source             LowCardinality(String),
    event_id           String,
    fingerprints       Array(UInt64),
    payloads           Array(String) CODEC(ZSTD(3)),
    received_ats       Array(DateTime64(3, 'UTC')),
    version            UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (source, event_id);

-- Per window row, which version of an event it counts when that is not the event's
-- first (corrected_ids[i] counts the version with fingerprint corrected_fingerprints[i]),
-- and the versions it counted and gave back (retired_versions): written in the same
-- insert as the row's state, so a correction replayed after a crash finds each window
-- already done or not.
ALTER TABLE {{db}}.probe_kpi_1m ADD COLUMN IF NOT EXISTS corrected_ids Array(UInt64) DEFAULT [];

ALTER TABLE {{db}}.probe_kpi_1m ADD COLUMN IF NOT EXISTS corrected_fingerprints Array(UInt64) DEFAULT [];

ALTER TABLE {{db}}.probe_kpi_1m ADD COLUMN IF NOT EXISTS retired_versions Array(UInt64) DEFAULT [];

ALTER TABLE {{db}}.kpi_1m ADD COLUMN IF NOT EXISTS corrected_ids Array(UInt64) DEFAULT [];

ALTER TABLE {{db}}.kpi_1m ADD COLUMN IF NOT EXISTS corrected_fingerprints Array(UInt64) DEFAULT [];

ALTER TABLE {{db}}.kpi_1m ADD COLUMN IF NOT EXISTS retired_versions Array(UInt64) DEFAULT [];

-- Why an event is in late_events: too_late (after its window was final, as before) or
-- correction_past_horizon (a correction or retraction later than CXV_CORRECTION_HORIZON_MS).
ALTER TABLE {{db}}.late_events ADD COLUMN IF NOT EXISTS reason LowCardinality(String) DEFAULT 'too_late';
