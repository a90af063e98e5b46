import type { Logger } from '../shared/log.ts';
import type { SourceName } from '../shared/sources/registry.ts';
import { CustomerSignals, type Outage } from './customer-signals.ts';
import { seededRandom } from './random.ts';

/**
 * The built-in traffic simulator: probes for several services × regions every few
 * seconds, planned maintenance declared in advance, maintenance declared only after
 * it started (retroactive), and unplanned outages — so Availability and
 * Serviceability visibly differ. It posts through the same ingest path as any source
 * (`submit`), in-process or over HTTP.
 *
 * On an empty store it first replays the last `historyMinutes` of the same story, so
 * a fresh `npm start` shows closed windows, planned maintenance included, at once.
 */

export const SIM_SERVICES = ['mobile-data', 'voice', 'broadband', 'iptv'] as const;
export const SIM_REGIONS = ['north', 'south', 'east', 'west'] as const;

export type Submit = (source: SourceName, events: object[]) => Promise<void>;

/**
 * Ground truth: an outage or maintenance the simulator injected (issue 18's benchmark
 * measures incident detection against these). `planned`: declared before it started.
 */
export interface InjectedIncident {
  service: string;
  region: string;
  onset: number;
  end: number;
  kind: 'planned-maintenance' | 'retroactive-maintenance' | 'unplanned-outage';
  planned: boolean;
}

export interface SimulatorOptions {
  submit: Submit;
  log: Logger;
  intervalMs?: number;
  historyMinutes?: number;
  seed?: number;
  now?: () => number;
  /** Schedule maintenance and outages every 15 minutes (default true); false: quiet traffic only. */
  scheduleOutages?: boolean;
}

const MINUTE = 60_000;

export class Simulator {
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly outages: Outage[] = [];
  private readonly customers: CustomerSignals;
  private timer: NodeJS.Timeout | undefined;
  private nextCycleAt = 0;
  private cycle = 0;
  private inFlight: Promise<void> = Promise.resolve();
  private stopped = false;
  sent = 0;
  /** Every outage and maintenance window injected so far, in the order scheduled. */
  readonly injected: InjectedIncident[] = [];

  constructor(private readonly o: SimulatorOptions) {
    this.random = seededRandom(o.seed ?? 20261123);
    this.now = o.now ?? Date.now;
    this.intervalMs = o.intervalMs ?? 5000;
    this.customers = new CustomerSignals(this.random, SIM_SERVICES, SIM_REGIONS);
  }

  /** Seeds history (when asked), declares the first maintenance windows and starts the live loop. */
  async start(options: { seedHistory: boolean }): Promise<void> {
    const t0 = Math.floor(this.now() / MINUTE) * MINUTE;
    if (options.seedHistory) await this.seedHistory(t0);
    this.nextCycleAt = t0;
    await this.tick();
    this.timer = setInterval(() => {
      this.inFlight = this.inFlight.then(() => this.tick()).catch((err) => this.o.log.warn({ err }, 'simulator tick failed'));
    }, this.intervalMs);
    this.timer.unref();
  }

  private async seedHistory(t0: number): Promise<void> {
    const minutes = this.o.historyMinutes ?? 12;
    const from = t0 - minutes * MINUTE;
    // Planned, declared well in advance: broadband/north, three minutes of downtime.
    await this.maintenance('broadband', 'north', t0 - 8 * MINUTE, t0 - 5 * MINUTE, t0 - 30 * MINUTE, 'hist-planned');
    // Retroactive: iptv/east went down, and change management declared it two minutes in.
    await this.maintenance('iptv', 'east', t0 - 10 * MINUTE, t0 - 7 * MINUTE, t0 - 8 * MINUTE, 'hist-retro');
    // Unplanned: mobile-data/west, nobody declared anything.
    this.outages.push({ service: 'mobile-data', region: 'west', startMs: t0 - 4 * MINUTE, endMs: t0 - 3 * MINUTE });
    this.label('mobile-data', 'west', t0 - 4 * MINUTE, t0 - 3 * MINUTE, 'unplanned-outage');
    let batch: object[] = [];
    for (let t = from; t < t0; t += this.intervalMs) {
      batch.push(...this.probeResults(t));
      if (batch.length >= 2000) {
        await this.submit('probe', batch);
        batch = [];
      }
    }
    await this.submit('probe', batch);
    for (let t = from; t < t0; t += MINUTE) await this.customerSlice(t, MINUTE);
    this.o.log.info({ from: new Date(from).toISOString(), minutes }, 'simulator seeded history');
  }

  /** Every 15 minutes: plan maintenance ahead, one retroactive declaration, one unplanned outage. */
  private async scheduleCycle(at: number): Promise<void> {
    this.cycle += 1;
    const pick = <T>(list: readonly T[]): T => list[Math.floor(this.random() * list.length)] as T;
    const planned = { service: pick(SIM_SERVICES), region: pick(SIM_REGIONS) };
    await this.maintenance(planned.service, planned.region, at + 2 * MINUTE, at + 5 * MINUTE, at, `planned-${this.cycle}`);
    const retro = { service: pick(SIM_SERVICES), region: pick(SIM_REGIONS) };
    this.outages.push({ service: retro.service, region: retro.region, startMs: at + 7 * MINUTE, endMs: at + 9 * MINUTE });
    this.label(retro.service, retro.region, at + 7 * MINUTE, at + 9 * MINUTE, 'retroactive-maintenance');
    // Declared a minute after it began: reported as retroactive, not excused by default.
    this.pendingDeclarations.push({
      ...retro,
      start: at + 7 * MINUTE,
      end: at + 9 * MINUTE,
      declareAt: at + 8 * MINUTE,
      id: `retro-${this.cycle}`,
    });
    const unplanned = { service: pick(SIM_SERVICES), region: pick(SIM_REGIONS) };
    this.outages.push({ ...unplanned, startMs: at + 11 * MINUTE, endMs: at + 12 * MINUTE + 30_000 });
    this.label(unplanned.service, unplanned.region, at + 11 * MINUTE, at + 12 * MINUTE + 30_000, 'unplanned-outage');
  }

  private label(service: string, region: string, onset: number, end: number, kind: InjectedIncident['kind']): void {
    this.injected.push({ service, region, onset, end, kind, planned: kind === 'planned-maintenance' });
  }

  /** One tick at the clock's current time: drives the simulator by hand under a simulated clock (benchmarks). */
  async step(): Promise<void> {
    if (this.nextCycleAt === 0) this.nextCycleAt = Math.floor(this.now() / MINUTE) * MINUTE;
    await this.tick();
  }

  private pendingDeclarations: Array<{
    service: string;
    region: string;
    start: number;
    end: number;
    declareAt: number;
    id: string;
  }> = [];

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const now = this.now();
    if (now >= this.nextCycleAt && this.o.scheduleOutages !== false) {
      await this.scheduleCycle(this.nextCycleAt);
      this.nextCycleAt += 15 * MINUTE;
    }
    const due = this.pendingDeclarations.filter((d) => d.declareAt <= now);
    this.pendingDeclarations = this.pendingDeclarations.filter((d) => d.declareAt > now);
    for (const d of due) await this.maintenance(d.service, d.region, d.start, d.end, now, d.id);
    await this.submit('probe', this.probeResults(now));
    await this.customerSlice(now - this.intervalMs, this.intervalMs);
    const horizon = now - 60 * MINUTE;
    for (let i = this.outages.length - 1; i >= 0; i -= 1) if ((this.outages[i]?.endMs ?? 0) < horizon) this.outages.splice(i, 1);
  }

  private async customerSlice(t: number, sliceMs: number): Promise<void> {
    const { contact, survey, social } = this.customers.slice(t, sliceMs, this.outages);
    await this.submit('contact', contact);
    await this.submit('survey', survey);
    await this.submit('social', social);
  }

  private down(service: string, region: string, t: number): boolean {
    return this.outages.some((o) => o.service === service && o.region === region && t >= o.startMs && t < o.endMs);
  }

  /** One active test and one agent counter sample per service × region at time t. */
  private probeResults(t: number): object[] {
    const events: object[] = [];
    for (const service of SIM_SERVICES) {
      for (const region of SIM_REGIONS) {
        const down = this.down(service, region, t);
        const okChance = down ? 0.05 : 0.995;
        const latency = (down ? 400 : 25) + this.random() * (down ? 600 : 30);
        events.push({
          eventId: `sim-${service}-${region}-active-${t}`,
          ts: t,
          service,
          region,
          probeId: `sim-${service}-${region}-a1`,
          probeType: 'active',
          success: this.random() < okChance,
          latencyMs: Math.round(latency * 10) / 10,
          jitterMs: Math.round((down ? 40 : 3) * (0.5 + this.random()) * 10) / 10,
          packetsSent: 100,
          packetLossPct: down ? 20 + Math.floor(this.random() * 60) : this.random() < 0.9 ? 0 : 1,
          throughputKbps: Math.round((down ? 500 : 50_000) * (0.5 + this.random())),
          mos: Math.round((down ? 2.2 + this.random() * 0.8 : 4.0 + this.random() * 0.4) * 100) / 100,
        });
        const attempts = 20;
        let successes = 0;
        for (let i = 0; i < attempts; i += 1) if (this.random() < okChance) successes += 1;
        events.push({
          eventId: `sim-${service}-${region}-agent-${t}`,
          ts: t,
          service,
          region,
          probeId: `sim-${service}-${region}-g1`,
          probeType: 'agent',
          attempts,
          successes,
        });
      }
    }
    return events;
  }

  private async maintenance(
    service: string,
    region: string,
    start: number,
    end: number,
    declaredAt: number,
    id: string,
  ): Promise<void> {
    this.outages.push({ service, region, startMs: start, endMs: end });
    // A late declaration of an outage already labelled (at its onset) is not a second one.
    const known = this.injected.some((i) => i.service === service && i.region === region && i.onset === start);
    if (!known) this.label(service, region, start, end, declaredAt <= start ? 'planned-maintenance' : 'retroactive-maintenance');
    await this.submit('maintenance', [
      {
        maintenanceId: `sim-${id}-${service}-${region}-${start}`,
        service,
        region,
        start,
        end,
        declaredAt,
        description: `simulated ${id.startsWith('retro') || id === 'hist-retro' ? 'emergency work (declared late)' : 'planned work'}`,
      },
    ]);
  }

  private async submit(source: SourceName, events: object[]): Promise<void> {
    if (events.length === 0) return;
    await this.o.submit(source, events);
    this.sent += events.length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.inFlight;
  }
}
