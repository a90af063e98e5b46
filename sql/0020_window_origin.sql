-- Who supplied the data (`origin`: customer, network, partner, manager, employee) is a
-- window dimension, so every KPI and feed can be read for one origin ("partner-reported
-- availability", "employee survey NPS"). It joins the end of the sorting key: rows of one
-- window and origin replace each other as before, and rows of different origins stay
-- apart. Rows written before this migration have origin '' (every origin together).
ALTER TABLE {{db}}.kpi_1m
    ADD COLUMN IF NOT EXISTS origin LowCardinality(String),
    MODIFY ORDER BY (family, service, region, window_start, segment, channel, queue, origin);

ALTER TABLE {{db}}.probe_kpi_1m
    ADD COLUMN IF NOT EXISTS origin LowCardinality(String),
    MODIFY ORDER BY (service, region, window_start, origin);
