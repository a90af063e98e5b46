import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Periodic } from '../../services/shared/periodic.ts';

describe('Periodic: a background job’s timer', () => {
  it('runs one at a time, reports a failure and goes on, and stop waits for the run in progress', async () => {
    let active = 0;
    let most = 0;
    let runs = 0;
    const errors: unknown[] = [];
    const job = new Periodic(
      async () => {
        runs += 1;
        active += 1;
        most = Math.max(most, active);
        await sleep(30); // longer than the interval: the next run waits instead of overlapping
        active -= 1;
        if (runs === 2) throw new Error('second run fails');
      },
      (err) => errors.push(err),
    );
    job.start(5, { immediately: true });
    expect(runs).toBe(0); // chained: the first run starts on the next turn
    await sleep(300);
    await job.stop();
    const after = runs;
    expect(active).toBe(0);
    expect(most).toBe(1);
    expect(after).toBeGreaterThanOrEqual(3);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('second run fails');
    await sleep(30);
    expect(runs).toBe(after);
  });

  it('without `immediately`, waits one interval before the first run', async () => {
    let runs = 0;
    const job = new Periodic(
      async () => {
        runs += 1;
      },
      () => {},
    );
    job.start(40);
    await sleep(15);
    expect(runs).toBe(0);
    await sleep(60);
    await job.stop();
    expect(runs).toBeGreaterThanOrEqual(1);
  });
});
