/**
 * Contact-center, survey and social traffic for the simulator, shaped the way it is in
 * life: contacts follow a daily load curve, survey answers trickle in, social chatter
 * murmurs — and an outage cascades: probe failures at once, a contact surge a few
 * minutes later (long waits, more abandons), negative posts after that, and lower
 * survey scores for an hour.
 */

export interface Outage {
  service: string;
  region: string;
  startMs: number;
  endMs: number;
}

const MINUTE = 60_000;

const POSITIVE = ['Great speed today, love it', 'Support fixed my issue fast, thanks!', 'Streaming in 4K without a glitch :)'];
const NEUTRAL = ['Anyone know when the new plan launches?', 'Switched my router today', 'Checking my bill online'];
const NEGATIVE = [
  'No internet again, this is terrible',
  'Service down for an hour and nobody answers the phone!!',
  'Worst outage ever, calls keep dropping',
  'Waiting 20 minutes on hold, awful support',
];

/**
 * A score on the integer scale lo…hi from x in [0, 1], never outside it: x = 1 is hi, not
 * hi + 1. (A CES of 8 came from `1 + floor((1 - u) * 7)` with u = 0.)
 */
export function onScale(x: number, lo: number, hi: number): number {
  return lo + Math.min(hi - lo, Math.max(0, Math.floor(x * (hi - lo + 1))));
}

/** Contacts per minute per service × region at this hour of the day (UTC): quiet nights, busy late mornings and afternoons. */
export function dailyContactRate(tMs: number): number {
  const hour = new Date(tMs).getUTCHours() + new Date(tMs).getUTCMinutes() / 60;
  const day = hour >= 7 && hour <= 21 ? Math.sin((Math.PI * (hour - 7)) / 14) : 0;
  return 0.4 + 2.2 * day;
}

export class CustomerSignals {
  constructor(
    private readonly random: () => number,
    private readonly services: readonly string[],
    private readonly regions: readonly string[],
  ) {}

  private poisson(mean: number): number {
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.random();
    while (p > limit && k < 1000) {
      k += 1;
      p *= this.random();
    }
    return k;
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.random() * list.length)] as T;
  }

  private phase(outages: readonly Outage[], service: string, region: string, t: number) {
    const hit = (from: number, to: number) =>
      outages.some((o) => o.service === service && o.region === region && t >= o.startMs + from && t < o.endMs + to);
    return {
      contactSurge: hit(3 * MINUTE, 10 * MINUTE),
      socialSurge: hit(5 * MINUTE, 15 * MINUTE),
      unhappy: hit(10 * MINUTE, 60 * MINUTE),
    };
  }

  /** The events of [t, t + sliceMs) for every service × region. */
  slice(t: number, sliceMs: number, outages: readonly Outage[]): { contact: object[]; survey: object[]; social: object[] } {
    const minutes = sliceMs / MINUTE;
    const out = { contact: [] as object[], survey: [] as object[], social: [] as object[] };
    for (const service of this.services) {
      for (const region of this.regions) {
        const phase = this.phase(outages, service, region, t);
        const base = { service, region };
        const contacts = this.poisson((dailyContactRate(t) + (phase.contactSurge ? 6 : 0)) * minutes);
        for (let i = 0; i < contacts; i += 1) {
          const ts = t + Math.floor(this.random() * sliceMs);
          const meanWait = phase.contactSurge ? 150 : 25;
          const waitSec = Math.round(-Math.log(1 - this.random()) * meanWait);
          const patience = -Math.log(1 - this.random()) * (phase.contactSurge ? 120 : 240);
          const abandoned = waitSec > patience;
          out.contact.push({
            ...base,
            eventId: `sim-c-${service}-${region}-${ts}-${i}`,
            ts,
            segment: this.random() < 0.2 ? 'business' : 'consumer',
            channel: this.random() < 0.7 ? 'voice' : 'chat',
            queue: phase.contactSurge && this.random() < 0.7 ? 'technical' : this.pick(['billing', 'technical', 'sales']),
            waitSec: abandoned ? Math.round(patience) : waitSec,
            abandoned,
            ...(abandoned
              ? {}
              : {
                  handleSec: Math.round(180 + this.random() * 420),
                  resolved: this.random() < (phase.contactSurge ? 0.5 : 0.78),
                  transfers: this.random() < 0.12 ? 1 : 0,
                }),
            reason: phase.contactSurge ? 'service outage' : this.pick(['billing', 'setup', 'speed', 'contract']),
          });
        }
        const answers = this.poisson(0.3 * minutes);
        for (let i = 0; i < answers; i += 1) {
          const ts = t + Math.floor(this.random() * sliceMs);
          const kind = this.pick(['nps', 'nps', 'csat', 'ces'] as const);
          // u in [0, 1): how pleased the customer is; an outage an hour ago shifts it down.
          const u = Math.min(0.999, Math.max(0, this.random() + (phase.unhappy ? -0.35 : 0)));
          const score =
            kind === 'nps'
              ? Math.min(10, Math.floor(u * 4 + (phase.unhappy ? 4 : 7)))
              : kind === 'csat'
                ? onScale(u, 1, 5)
                : onScale(1 - u, 1, 7);
          out.survey.push({
            ...base,
            eventId: `sim-s-${service}-${region}-${ts}-${i}`,
            ts,
            kind,
            score,
            touchpoint: 'after-contact',
          });
        }
        const posts = this.poisson((0.4 + (phase.socialSurge ? 3 : 0)) * minutes);
        for (let i = 0; i < posts; i += 1) {
          const ts = t + Math.floor(this.random() * sliceMs);
          const roll = this.random();
          const text =
            phase.socialSurge && roll < 0.8
              ? this.pick(NEGATIVE)
              : roll < 0.4
                ? this.pick(POSITIVE)
                : roll < 0.85
                  ? this.pick(NEUTRAL)
                  : this.pick(NEGATIVE);
          out.social.push({
            ...base,
            eventId: `sim-p-${service}-${region}-${ts}-${i}`,
            ts,
            platform: this.pick(['x', 'facebook', 'reddit']),
            text: `${text} #${service} ${region}`,
            reach: Math.floor(this.random() * 5000),
          });
        }
      }
    }
    return out;
  }
}
