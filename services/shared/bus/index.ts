/**
 * Entry point of the bus module: `createBus` picks the implementation named by
 * configuration (`CXV_KAFKA_CLIENT`); both behave the same behind the `Bus` port.
 */
import type { Bus } from './bus.ts';
import { KafkajsBus } from './kafkajs/bus.ts';
import type { BusOptions } from './options.ts';
import { RdkafkaBus } from './rdkafka/bus.ts';

export const createBus = (options: BusOptions): Bus => {
  switch (options.kind) {
    case 'rdkafka':
      return new RdkafkaBus(options);
    case 'kafkajs':
      return new KafkajsBus(options);
    default: {
      const kind: never = options.kind;
      throw new Error(`unknown kafka client kind: ${String(kind)}`);
    }
  }
};

export * from './bus.ts';
export type { EmbeddedKafka, EmbeddedKafkaOptions } from './embedded.ts';
export { startEmbeddedKafka } from './embedded.ts';
export { KafkajsBus } from './kafkajs/bus.ts';
export type { BusLogger, BusOptions } from './options.ts';
export { DEFAULT_MAX_BATCH_SIZE } from './options.ts';
export { RdkafkaBus } from './rdkafka/bus.ts';
