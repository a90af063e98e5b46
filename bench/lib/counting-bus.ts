import type { Bus, ConsumedMessage, SubscribeOptions } from '../../services/shared/bus/bus.ts';
import { type Sample, sample } from './cpu.ts';

/**
 * A Bus that behaves exactly like the one it wraps, and notes when the first batch
 * arrived (the clock of a consume measurement starts there, after the consumer group
 * has formed) and when `expected` messages have been handled by the subscriber.
 */
export class CountingBus implements Bus {
  first: Sample | undefined;
  handled = 0;
  readonly done: Promise<Sample>;
  private markDone: (s: Sample) => void = () => {};

  constructor(
    private readonly inner: Bus,
    private readonly expected: number,
  ) {
    this.done = new Promise((resolve) => {
      this.markDone = resolve;
    });
  }

  get client() {
    return this.inner.client;
  }
  get brokers() {
    return this.inner.brokers;
  }
  produce: Bus['produce'] = (topic, messages) => this.inner.produce(topic, messages);
  ensureTopics: Bus['ensureTopics'] = (topics) => this.inner.ensureTopics(topics);
  health: Bus['health'] = () => this.inner.health();
  producedEnds: Bus['producedEnds'] = () => this.inner.producedEnds();
  committedOffsets: Bus['committedOffsets'] = (groupId, partitions) => this.inner.committedOffsets(groupId, partitions);
  close: Bus['close'] = () => this.inner.close();

  subscribe(options: SubscribeOptions) {
    return this.inner.subscribe({
      ...options,
      onBatch: async (messages: ConsumedMessage[]) => {
        this.first ??= sample();
        await options.onBatch(messages);
        this.handled += messages.length;
        if (this.handled >= this.expected) this.markDone(sample());
      },
    });
  }
}
