import { type Bus, BusError, topicForSource } from '../shared/bus/bus.ts';
import type { Metrics } from '../shared/metrics.ts';
import { codecFor, FINGERPRINT_HEADER, SCHEMA_HEADER } from '../shared/sources/avro.ts';
import { type FieldError, fieldErrors } from '../shared/sources/common.ts';
import { SOURCES, type SourceName } from '../shared/sources/registry.ts';
import type { SourceDefinition } from '../shared/sources/source.ts';
import type { ParsedBody } from './body.ts';

/**
 * The ingest path, without HTTP: validate each event (zod, field-level errors),
 * normalise it into its bus record, Avro-encode it and produce it keyed by
 * `service|region`. An event counts as accepted only once Kafka acknowledged it.
 */

export interface IngestResult {
  source: SourceName;
  received: number;
  accepted: number;
  rejected: number;
  errors: FieldError[];
}

export interface IngestOptions {
  maxFutureMs: number;
  now?: () => number;
}

export class IngestService {
  private readonly now: () => number;
  constructor(
    private readonly bus: Bus,
    private readonly metrics: Metrics,
    private readonly options: IngestOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Validates and produces. Throws BusError (nothing accepted) when Kafka did not acknowledge. */
  async ingest(source: SourceName, body: ParsedBody): Promise<IngestResult> {
    const definition = SOURCES[source] as unknown as SourceDefinition<unknown, object>;
    const receivedAt = this.now();
    const errors: FieldError[] = [...body.errors];
    const records: object[] = [];
    for (const { index, value } of body.items) {
      const parsed = definition.input.safeParse(value);
      if (!parsed.success) {
        errors.push(...fieldErrors(index, parsed.error));
        continue;
      }
      const record = definition.toRecord(parsed.data, receivedAt);
      const eventTime = definition.eventTime(record);
      if (eventTime > receivedAt + this.options.maxFutureMs) {
        errors.push({
          index,
          field: 'ts',
          code: 'too_far_in_future',
          message: `event time ${new Date(eventTime).toISOString()} is more than ${this.options.maxFutureMs} ms ahead of the server clock`,
        });
        continue;
      }
      records.push(record);
    }
    const invalid = body.count - records.length;
    this.metrics.ingestReceived.inc({ source }, body.count);
    if (invalid > 0) this.metrics.ingestRejected.inc({ source, reason: 'invalid' }, invalid);

    if (records.length > 0) {
      const codec = codecFor(source);
      const topic = topicForSource(source);
      const headers = { [SCHEMA_HEADER]: codec.schemaName, [FINGERPRINT_HEADER]: codec.fingerprint };
      try {
        await this.bus.produce(
          topic,
          records.map((r) => ({ key: definition.partitionKey(r), value: codec.encode(r), headers })),
        );
      } catch (err) {
        this.metrics.ingestRejected.inc({ source, reason: 'bus_unavailable' }, records.length);
        throw err instanceof BusError
          ? err
          : new BusError('BUS_PRODUCE_FAILED', `Kafka did not acknowledge: ${(err as Error).message}`, { cause: err });
      }
      this.metrics.busProduced.inc({ topic }, records.length);
      this.metrics.ingestAccepted.inc({ source }, records.length);
    }
    errors.sort((a, b) => a.index - b.index);
    return { source, received: body.count, accepted: records.length, rejected: invalid, errors };
  }
}
