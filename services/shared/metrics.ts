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
      help: 'What the aggregator did with each message: counted, late_update, too_late (stored in late_events), already_counted (redelivered), duplicate (same eventId), dead_lettered.',
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
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
