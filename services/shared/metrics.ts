import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics. One Registry per running app (not prom-client's global one),
 * so several apps can live in one test process. Label values come from bounded sets
 * (source names, topic names, outcome enums), never from event data.
 *
 * Hop by hop, `received = accepted + rejected` holds:
 *   ingest:     cxv_ingest_events_received_total = accepted + rejected (per source)
 *   bus:        cxv_bus_messages_produced_total (per topic) = ingest accepted
 *   aggregator: cxv_aggregator_messages_received_total = Σ outcome of cxv_aggregator_messages_total
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cxv_process_' });
  const m = {
    registry,
    ingestReceived: new Counter({
      name: 'cxv_ingest_events_received_total',
      help: 'Events received at the HTTP edge, per source.',
      labelNames: ['source'],
      registers: [registry],
    }),
    ingestAccepted: new Counter({
      name: 'cxv_ingest_events_accepted_total',
      help: 'Events validated and acknowledged by Kafka, per source.',
      labelNames: ['source'],
      registers: [registry],
    }),
    ingestRejected: new Counter({
      name: 'cxv_ingest_events_rejected_total',
      help: 'Events refused at the edge, per source and reason (invalid, bus_unavailable).',
      labelNames: ['source', 'reason'],
      registers: [registry],
    }),
    busProduced: new Counter({
      name: 'cxv_bus_messages_produced_total',
      help: 'Messages acknowledged by Kafka, per topic.',
      labelNames: ['topic'],
      registers: [registry],
    }),
    busConsumed: new Counter({
      name: 'cxv_bus_messages_consumed_total',
      help: 'Messages consumed from Kafka, per topic.',
      labelNames: ['topic'],
      registers: [registry],
    }),
    aggregatorReceived: new Counter({
      name: 'cxv_aggregator_messages_received_total',
      help: 'Messages handed to the aggregator, per source.',
      labelNames: ['source'],
      registers: [registry],
    }),
    aggregatorOutcome: new Counter({
      name: 'cxv_aggregator_messages_total',
      help: 'What the aggregator did with each message: counted, late_update, too_late (stored in late_events), already_counted (redelivered), duplicate (a version of the event seen before), corrected (same eventId, other content: replaced the earlier version), retracted, not_found (a retraction of an unknown event), correction_past_horizon (stored in late_events), dead_lettered.',
      labelNames: ['source', 'outcome'],
      registers: [registry],
    }),
    windowsWritten: new Counter({
      name: 'cxv_aggregator_window_rows_written_total',
      help: 'Rows the aggregator wrote to ClickHouse (window rows incl. new versions, raw, late and maintenance rows), per table.',
      labelNames: ['table'],
      registers: [registry],
    }),
    openWindows: new Gauge({
      name: 'cxv_aggregator_open_windows',
      help: 'Windows held in memory (open, or written and still accepting late events).',
      registers: [registry],
    }),
    ingestBusBacklogBytes: new Gauge({
      name: 'cxv_ingest_bus_backlog_bytes',
      help: "Per topic, the largest estimate over its partitions of bytes the aggregator's group has not committed yet (sampled each second while CXV_INGEST_MAX_BUS_BACKLOG_BYTES is set).",
      labelNames: ['topic'],
      registers: [registry],
    }),
    ingestBacklogRefusals: new Counter({
      name: 'cxv_ingest_backlog_refusals_total',
      help: 'Ingest bodies answered 429 because the aggregator backlog on their topic was over CXV_INGEST_MAX_BUS_BACKLOG_BYTES (the sender resends them).',
      labelNames: ['topic'],
      registers: [registry],
    }),
    skippedOffsets: new Counter({
      name: 'cxv_aggregator_skipped_offsets_total',
      help: 'Offsets never delivered between two consumed on the same partition: messages the broker no longer had when the aggregator reached them (retention, or the embedded broker dropping the oldest past about 5 MiB per partition). Acknowledged events lost: must stay 0.',
      labelNames: ['topic'],
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: 'cxv_aggregator_consumer_lag_messages',
      help: 'Messages on the assigned partitions not consumed yet (sampled every few seconds).',
      registers: [registry],
    }),
    assignedPartitions: new Gauge({
      name: 'cxv_aggregator_assigned_partitions',
      help: 'Partitions assigned to this aggregator instance.',
      registers: [registry],
    }),
    storeInsertSeconds: new Histogram({
      name: 'cxv_store_insert_duration_seconds',
      help: 'Duration of ClickHouse inserts, per table.',
      labelNames: ['table'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    storeWriteFailures: new Counter({
      name: 'cxv_store_write_failures_total',
      help: 'Failed ClickHouse writes (each is retried), per table.',
      labelNames: ['table'],
      registers: [registry],
    }),
    // --- Dashboard and alerting (services/dashboard): window landing and business gauges. ---
    // Window landing is observed from the store (written_at), so any process serving the
    // API reports it, whichever process runs the aggregator.
    windowCloseDelay: new Histogram({
      name: 'cxv_window_close_delay_seconds',
      help: 'Event-time end of a 1-minute window to its first row in ClickHouse (written_at), per KPI family (availability = probe_kpi_1m).',
      labelNames: ['family'],
      buckets: [1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1800],
      registers: [registry],
    }),
    windowLastWritten: new Gauge({
      name: 'cxv_window_last_written_timestamp_seconds',
      help: 'When the newest window row was written to ClickHouse (unix seconds).',
      registers: [registry],
    }),
    windowNewestEnd: new Gauge({
      name: 'cxv_window_newest_end_timestamp_seconds',
      help: 'Event-time end of the newest window written (unix seconds): data freshness.',
      registers: [registry],
    }),
    liveClients: new Gauge({
      name: 'cxv_dashboard_live_clients',
      help: 'Open server-sent-event streams of the dashboard (/api/v1/live).',
      registers: [registry],
    }),
    // Business gauges over the last few closed minutes, per (service, region) with data;
    // the number of pairs is capped (cxv_business_gauges_omitted_pairs counts the rest).
    csiScore: new Gauge({
      name: 'cxv_csi_score',
      help: 'Customer Satisfaction Index 0-100 over the last closed minutes, per service and region.',
      labelNames: ['service', 'region'],
      registers: [registry],
    }),
    csiCoverage: new Gauge({
      name: 'cxv_csi_coverage_ratio',
      help: 'Share of the CSI weight that had data (0-1), per service and region.',
      labelNames: ['service', 'region'],
      registers: [registry],
    }),
    kqiScore: new Gauge({
      name: 'cxv_kqi_score',
      help: 'KQI score 0-100 over the last closed minutes, per service, region and KQI of the model.',
      labelNames: ['service', 'region', 'kqi'],
      registers: [registry],
    }),
    availabilityRatio: new Gauge({
      name: 'cxv_availability_ratio',
      help: 'Availability (successes / attempts outside excused maintenance) over the last closed minutes.',
      labelNames: ['service', 'region'],
      registers: [registry],
    }),
    serviceabilityRatio: new Gauge({
      name: 'cxv_serviceability_ratio',
      help: 'Serviceability (successes / attempts over all probe results) over the last closed minutes.',
      labelNames: ['service', 'region'],
      registers: [registry],
    }),
    socialSurge: new Gauge({
      name: 'cxv_social_surge_zscore',
      help: 'Largest social-mention surge z-score of the last closed minutes (mentions above the trailing baseline).',
      labelNames: ['service', 'region'],
      registers: [registry],
    }),
    businessGaugesUpdated: new Gauge({
      name: 'cxv_business_gauges_last_update_timestamp_seconds',
      help: 'When the business gauges were last computed from the store (unix seconds).',
      registers: [registry],
    }),
    businessGaugesOmitted: new Gauge({
      name: 'cxv_business_gauges_omitted_pairs',
      help: '(service, region) pairs with data left out of the business gauges by the label cap.',
      registers: [registry],
    }),
    businessGaugeFailures: new Counter({
      name: 'cxv_business_gauges_update_failures_total',
      help: 'Business gauge updates that failed (store error); the gauges keep their last values.',
      registers: [registry],
    }),
    // --- end dashboard and alerting ---
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
