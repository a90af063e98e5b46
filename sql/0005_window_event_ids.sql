-- Every window row carries the eventIds it counts (as the aggregator's 53-bit hashes,
-- services/aggregator/engine.ts eventIdHash), so a stored row is self-contained: its
-- state, the offsets it counts and the events it counts are written in one insert.
-- Before this, the ids came from raw_events, a separate insert: a crash between the two
-- left rows whose events could be counted again when re-sent. Rows written before this
-- migration have an empty array; their ids are still read from raw_events.
ALTER TABLE {{db}}.probe_kpi_1m ADD COLUMN IF NOT EXISTS event_ids Array(UInt64) DEFAULT [];

ALTER TABLE {{db}}.kpi_1m ADD COLUMN IF NOT EXISTS event_ids Array(UInt64) DEFAULT [];
