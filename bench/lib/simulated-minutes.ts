import { addContact, emptyContact } from '../../services/families/contact/accumulator.ts';
import { addSocial, emptySocial } from '../../services/families/social/accumulator.ts';
import { addSurvey, emptySurvey } from '../../services/families/survey/accumulator.ts';
import type { MinuteCounts } from '../../services/incidents/signals.ts';
import type { MaintenanceCover } from '../../services/shared/kpi/availability.ts';
import type { Logger } from '../../services/shared/log.ts';
import { scoreSentiment } from '../../services/shared/sources/sentiment.ts';
import { type InjectedIncident, Simulator } from '../../services/simulator/simulator.ts';

/**
 * The built-in simulator run under a simulated clock, its events folded straight into the
 * per-minute counts the incident scorer reads (the same accumulator functions as the
 * aggregator, the same sentiment scorer as ingest), with no Kafka and no ClickHouse: hours
 * of traffic in seconds. Maintenance cover is decided as the read model decides it once every
 * declaration has arrived: planned if received before it started, else retroactive.
 */

const MINUTE = 60_000;
const silent: Logger = { info() {}, warn() {}, error() {}, debug() {}, child: () => silent } as unknown as Logger;

interface Declared {
  service: string;
  region: string | null;
  start: number;
  end: number;
  receivedAt: number;
}

interface ProbeEvent {
  ts: number;
  service: string;
  region: string;
  success?: boolean;
  attempts?: number;
  successes?: number;
}

export interface SimulatedRun {
  /** kpiKey "service/region" → minute → counts. */
  series: Map<string, Map<number, MinuteCounts>>;
  injected: InjectedIncident[];
  from: number;
  to: number;
}

const keyOf = (service: string, region: string) => `${service}/${region}`;

export async function simulateMinutes(o: {
  from: number;
  to: number;
  seed: number;
  scheduleOutages: boolean;
  into?: Map<string, Map<number, MinuteCounts>>;
}): Promise<SimulatedRun> {
  const series = o.into ?? new Map<string, Map<number, MinuteCounts>>();
  const probes: ProbeEvent[] = [];
  const declared: Declared[] = [];
  let clock = o.from;
  const minuteOf = (service: string, region: string, ts: number): MinuteCounts => {
    const key = keyOf(service, region);
    let ofKey = series.get(key);
    if (!ofKey) {
      ofKey = new Map();
      series.set(key, ofKey);
    }
    const m = Math.floor(ts / MINUTE) * MINUTE;
    let c = ofKey.get(m);
    if (!c) {
      c = { probe: null, contact: null, survey: null, social: null };
      ofKey.set(m, c);
    }
    return c;
  };
  const contacts = new Map<MinuteCounts, ReturnType<typeof emptyContact>>();
  const surveys = new Map<MinuteCounts, ReturnType<typeof emptySurvey>>();
  const socials = new Map<MinuteCounts, ReturnType<typeof emptySocial>>();
  const accOf = <A>(map: Map<MinuteCounts, A>, c: MinuteCounts, empty: () => A): A => {
    let a = map.get(c);
    if (!a) {
      a = empty();
      map.set(c, a);
    }
    return a;
  };
  const sim = new Simulator({
    log: silent,
    seed: o.seed,
    now: () => clock,
    scheduleOutages: o.scheduleOutages,
    submit: async (source, events) => {
      for (const e of events as Array<Record<string, unknown>>) {
        const service = String(e.service);
        const region = String(e.region);
        if (source === 'probe') probes.push(e as unknown as ProbeEvent);
        else if (source === 'maintenance')
          declared.push({ service, region, start: Number(e.start), end: Number(e.end), receivedAt: clock });
        else if (source === 'contact') {
          const c = minuteOf(service, region, Number(e.ts));
          addContact(accOf(contacts, c, emptyContact), {
            waitSec: Number(e.waitSec),
            abandoned: Boolean(e.abandoned),
            handleSec: (e.handleSec as number | undefined) ?? null,
            resolved: (e.resolved as boolean | undefined) ?? null,
            transfers: (e.transfers as number | undefined) ?? null,
          });
        } else if (source === 'survey') {
          const c = minuteOf(service, region, Number(e.ts));
          addSurvey(accOf(surveys, c, emptySurvey), { kind: e.kind as 'nps', score: Number(e.score) });
        } else if (source === 'social') {
          const c = minuteOf(service, region, Number(e.ts));
          addSocial(accOf(socials, c, emptySocial), { sentiment: scoreSentiment(String(e.text)) });
        }
      }
    },
  });
  for (; clock < o.to; clock += 5000) await sim.step();
  await sim.stop();

  const firstReceipt = new Map<string, number>();
  for (const d of declared) {
    const id = `${d.service}/${d.region}/${d.start}`;
    firstReceipt.set(id, Math.min(firstReceipt.get(id) ?? Number.POSITIVE_INFINITY, d.receivedAt));
  }
  const coverOf = (p: ProbeEvent): MaintenanceCover => {
    let cover: MaintenanceCover = 'none';
    for (const d of declared) {
      if (d.service !== p.service || (d.region !== null && d.region !== p.region) || p.ts < d.start || p.ts >= d.end) continue;
      const received = firstReceipt.get(`${d.service}/${d.region}/${d.start}`) ?? d.receivedAt;
      if (received <= d.start) return 'planned';
      cover = 'retroactive';
    }
    return cover;
  };
  for (const p of probes) {
    const c = minuteOf(p.service, p.region, p.ts);
    c.probe ??= { attempts: 0, successes: 0, plannedAttempts: 0, plannedSuccesses: 0, retroAttempts: 0, retroSuccesses: 0 };
    const counts = c.probe;
    const attempts = p.attempts ?? 1;
    const successes = p.successes ?? (p.success ? 1 : 0);
    counts.attempts += attempts;
    counts.successes += successes;
    const cover = coverOf(p);
    if (cover === 'planned') {
      counts.plannedAttempts += attempts;
      counts.plannedSuccesses += successes;
    } else if (cover === 'retroactive') {
      counts.retroAttempts += attempts;
      counts.retroSuccesses += successes;
    }
  }
  for (const [c, a] of contacts)
    c.contact = {
      offered: a.answered + a.abandoned,
      abandoned: a.abandoned,
      answered: a.answered,
      answeredWaitSecSum: a.answeredWaitSecSum,
    };
  for (const [c, a] of surveys)
    c.survey = {
      npsResponses: a.npsResponses,
      npsPromoters: a.npsPromoters,
      npsDetractors: a.npsDetractors,
      csatResponses: a.csatResponses,
      csatSatisfied: a.csatSatisfied,
    };
  for (const [c, a] of socials) c.social = { mentions: a.mentions, negativeMentions: a.negativeMentions };
  return { series, injected: sim.injected, from: o.from, to: o.to };
}
