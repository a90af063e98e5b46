/**
 * The subscription contract both clients inherit from services/shared/bus/subscription-core.ts,
 * specified on a scripted client (no Kafka): the close order, the single failure report,
 * which states accept commits, and where an unread partition's lag starts.
 */
import { describe, expect, it } from 'vitest';
import type { SubscribeOptions, TopicPartition, TopicPartitionOffset } from '../../services/shared/bus/bus.ts';
import { BusError } from '../../services/shared/bus/bus.ts';
import { resolveBusOptions } from '../../services/shared/bus/options.ts';
import {
  OpenSubscriptions,
  type PartitionLag,
  Subscription,
  type SubscriptionState,
} from '../../services/shared/bus/subscription-core.ts';
import { tpKey } from '../../services/shared/bus/util.ts';
import { testLog } from './helpers.ts';

/** A client whose every step is written to `steps`; its hooks do what the test sets. */
class ScriptedSubscription extends Subscription {
  readonly steps: string[] = [];
  protected readonly disconnectTimeoutMs: number;
  startFails = false;
  disconnectHangs = false;
  lastLagAsked: TopicPartition[] = [];

  constructor(
    sub: Partial<SubscribeOptions>,
    onClosed: () => void = () => {},
    readonly log$ = testLog(),
    disconnectTimeoutMs = 5_000,
  ) {
    super(
      'rdkafka',
      resolveBusOptions({ kind: 'rdkafka', brokers: 'scripted:9092', clientId: 'test', log: log$ }),
      { groupId: 'g', topics: ['t'], fromBeginning: true, onBatch: async () => {}, ...sub },
      onClosed,
    );
    this.disconnectTimeoutMs = disconnectTimeoutMs;
  }

  async start(): Promise<void> {
    this.steps.push('start');
    if (this.startFails) throw new BusError('BUS_UNAVAILABLE', 'scripted start failure');
    this.state = 'running';
  }

  /** What a client does when the group hands it partitions. */
  own(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.assigned.set(tpKey(tp), tp);
  }

  get currentState(): SubscriptionState {
    return this.state;
  }

  failWith(message: string): void {
    this.fail(new BusError('BUS_CONSUME_FAILED', message));
  }

  lagOf(position: number | undefined, low: number, high: number): number {
    return this.lagFrom(position, low, high);
  }

  protected async stopFetching(wasRunning: boolean): Promise<void> {
    this.steps.push(`stopFetching(${wasRunning})`);
  }

  protected disconnect(): Promise<void> {
    this.steps.push('disconnect');
    return this.disconnectHangs ? new Promise(() => {}) : Promise.resolve();
  }

  protected commitWithoutWaiting(offsets: TopicPartitionOffset[]): void {
    this.steps.push(`commitWithoutWaiting(${offsets.map((o) => `${o.partition}@${o.offset}`).join(',')})`);
  }

  protected async commitAndWait(offsets: TopicPartitionOffset[]): Promise<void> {
    this.steps.push(`commitAndWait(${offsets.map((o) => `${o.partition}@${o.offset}`).join(',')})`);
  }

  protected async measureLag(partitions: TopicPartition[]): Promise<PartitionLag[]> {
    this.lastLagAsked = partitions;
    return partitions.map((tp) => ({ ...tp, lag: 1 }));
  }
}

const tp = (partition: number): TopicPartition => ({ topic: 't', partition });

describe('subscription core: close()', () => {
  it('stops fetching, runs onRevoke for what it owns while commits still work, then disconnects', async () => {
    let sub!: ScriptedSubscription;
    sub = new ScriptedSubscription(
      {
        onRevoke: async (partitions) => {
          sub.steps.push(`onRevoke(${partitions.map((p) => p.partition).join(',')}) owned=${sub.assignment().length}`);
          await sub.commit([{ topic: 't', partition: 0, offset: 5 }]);
        },
      },
      () => sub.steps.push('onClosed'),
    );
    await sub.start();
    sub.own([tp(2), tp(0)]);
    await sub.close();
    expect(sub.steps).toEqual([
      'start',
      'stopFetching(true)',
      'onRevoke(0,2) owned=2',
      'commitAndWait(0@5)',
      'disconnect',
      'onClosed',
    ]);
    expect(sub.assignment()).toEqual([]);
    expect(sub.currentState).toBe('closed');
  });

  it('is idempotent: a second close() is the same close', async () => {
    const sub = new ScriptedSubscription({});
    await sub.start();
    const first = sub.close();
    expect(sub.close()).toBe(first);
    await first;
    expect(sub.steps.filter((s) => s === 'disconnect')).toHaveLength(1);
  });

  it('runs no onRevoke when it never ran, and still disconnects', async () => {
    const revoked: TopicPartition[][] = [];
    const sub = new ScriptedSubscription({ onRevoke: (p) => void revoked.push(p) });
    await sub.close();
    expect(sub.steps).toEqual(['stopFetching(false)', 'disconnect']);
    expect(revoked).toEqual([]);
  });

  it('a failing onRevoke is logged and the member still leaves', async () => {
    const sub = new ScriptedSubscription({
      onRevoke: async () => {
        throw new Error('store down');
      },
    });
    await sub.start();
    sub.own([tp(1)]);
    await sub.close();
    expect(sub.steps.at(-1)).toBe('disconnect');
    expect(sub.log$.entries.filter((e) => e.level === 'error').map((e) => e.msg)).toEqual(['onRevoke failed during close']);
  });

  it('a disconnect that never answers ends at the deadline with a warning', async () => {
    const sub = new ScriptedSubscription({}, undefined, testLog(), 50);
    sub.disconnectHangs = true;
    await sub.start();
    await sub.close();
    expect(sub.currentState).toBe('closed');
    const warning = sub.log$.entries.find((e) => e.level === 'warn');
    expect(warning?.msg).toBe('kafka consumer disconnect');
    expect(warning?.obj).toMatchObject({ client: 'rdkafka', groupId: 'g', err: 'kafka consumer disconnect timed out' });
  });
});

describe('subscription core: failure and commits', () => {
  it('reports the first failure once through onError and closes; later failures are ignored', async () => {
    const reported: string[] = [];
    const sub = new ScriptedSubscription({ onError: (e) => reported.push(`${e.code}: ${e.message}`) });
    await sub.start();
    sub.failWith('handler rejected');
    sub.failWith('second failure');
    await sub.close();
    expect(reported).toEqual(['BUS_CONSUME_FAILED: handler rejected']);
    expect(sub.steps).toContain('disconnect');
  });

  it('commits only while a member: refused before start() and after close()', async () => {
    const sub = new ScriptedSubscription({});
    const offsets = [{ topic: 't', partition: 3, offset: 10 }];
    await expect(sub.commit(offsets)).rejects.toMatchObject({ code: 'BUS_CONSUME_FAILED' });
    await sub.start();
    await sub.commit(offsets);
    await sub.commit(offsets, { wait: false });
    await sub.close();
    await expect(sub.commit(offsets)).rejects.toMatchObject({
      code: 'BUS_CONSUME_FAILED',
      message: 'kafka commit on a closed consumer',
    });
    expect(sub.steps.filter((s) => s.startsWith('commit'))).toEqual(['commitAndWait(3@10)', 'commitWithoutWaiting(3@10)']);
  });

  it('an empty commit is a no-op, even on a consumer that is not running', async () => {
    const sub = new ScriptedSubscription({});
    await sub.commit([]);
    expect(sub.steps).toEqual([]);
  });
});

describe('subscription core: assignment and lag', () => {
  it('assignment() is sorted by topic, then partition', async () => {
    const sub = new ScriptedSubscription({});
    sub.own([tp(3), { topic: 'a', partition: 9 }, tp(1)]);
    expect(sub.assignment()).toEqual([{ topic: 'a', partition: 9 }, tp(1), tp(3)]);
  });

  it('lag() is empty unless running with partitions, and asks the client for exactly the assignment', async () => {
    const sub = new ScriptedSubscription({});
    sub.own([tp(1)]);
    expect(await sub.lag()).toEqual([]); // not running yet
    await sub.start();
    sub.own([tp(0)]);
    expect(await sub.lag()).toEqual([
      { ...tp(0), lag: 1 },
      { ...tp(1), lag: 1 },
    ]);
    expect(sub.lastLagAsked).toEqual([tp(0), tp(1)]);
  });

  it('lag counts from the position; with none, from where the reset policy starts', () => {
    const fromBeginning = new ScriptedSubscription({ fromBeginning: true });
    const fromEnd = new ScriptedSubscription({ fromBeginning: false });
    // Log holds offsets 2..9 (low 2, high 10).
    expect(fromBeginning.lagOf(7, 2, 10)).toBe(3); // 7, 8, 9 unread
    expect(fromEnd.lagOf(7, 2, 10)).toBe(3);
    expect(fromBeginning.lagOf(undefined, 2, 10)).toBe(8); // earliest: all of 2..9
    expect(fromBeginning.lagOf(-1001, 2, 10)).toBe(8); // librdkafka's "no offset"
    expect(fromEnd.lagOf(-1, 2, 10)).toBe(0); // latest: starts at the end
    expect(fromBeginning.lagOf(12, 2, 10)).toBe(0); // never negative
  });
});

describe('OpenSubscriptions (one per bus)', () => {
  it('a subscription whose start fails is closed, forgotten and its error rethrown', async () => {
    const open = new OpenSubscriptions<ScriptedSubscription>();
    let created!: ScriptedSubscription;
    const started = open.start((onClosed) => {
      created = new ScriptedSubscription({}, onClosed);
      created.startFails = true;
      return created;
    });
    await expect(started).rejects.toMatchObject({ code: 'BUS_UNAVAILABLE', message: 'scripted start failure' });
    expect(created.steps).toEqual(['start', 'stopFetching(false)', 'disconnect']);
  });

  it('closeAll() closes every open subscription and refuses new ones', async () => {
    const open = new OpenSubscriptions<ScriptedSubscription>();
    const a = await open.start((onClosed) => new ScriptedSubscription({}, onClosed));
    const b = await open.start((onClosed) => new ScriptedSubscription({}, onClosed));
    await open.closeAll();
    expect([a.currentState, b.currentState]).toEqual(['closed', 'closed']);
    await expect(open.start((onClosed) => new ScriptedSubscription({}, onClosed))).rejects.toMatchObject({
      code: 'BUS_UNAVAILABLE',
      message: 'bus is closed',
    });
  });
});
