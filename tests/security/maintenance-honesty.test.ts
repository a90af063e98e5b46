import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../../services/app.ts';
import { demoIngestCredentials, generateIngestToken, IngestAuth, mayBackdate } from '../../services/ingest/auth.ts';
import { trustedDeclaredAt } from '../../services/shared/sources/maintenance.ts';
import type { AvailabilityReport } from '../../services/shared/vitals/availability.ts';
import { eventually, getJson, postJson, startTestPipeline } from '../support/pipeline.ts';

/**
 * Issue 15, finding 4: failing probes posted, then afterwards a maintenance declaration
 * with `declaredAt` in the past turned Availability from 0.5 into 1.0, listed
 * `retroactive:false, excused:true` — the sender's claim decided what was "planned".
 * Now a declaration counts as made when cxvitals received it; only a token with the
 * `maintenance-history` entry may back-date one, and it is shown as back-dated beside
 * its receipt time.
 */

const MIN = 60_000;
// A whole past hour, so every window can close.
const H0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
const at = (m: number, s = 0) => H0 + m * MIN + s * 1000;
const iso = (ms: number) => new Date(ms).toISOString();
const range = `from=${iso(H0)}&to=${iso(H0 + 3_600_000)}&step=1h`;

const history = generateIngestToken('maintenance-history');
let pipeline: Pipeline;

beforeAll(async () => {
  // The demo token for every source, as a plain ingest token; one history-import token.
  const plain = generateIngestToken('*');
  process.env.CXV_TEST_PLAIN_TOKEN = plain.token;
  pipeline = await startTestPipeline({
    CXV_INGEST_TOKENS: [plain.entry, history.entry].join(','),
    // The hour read is two hours old: its windows stay open to updates (a declaration re-classifies them).
    CXV_ALLOWED_LATENESS_MS: String(4 * 3_600_000),
  });
}, 120_000);
afterAll(async () => {
  await pipeline?.stop();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const plainToken = () => process.env.CXV_TEST_PLAIN_TOKEN ?? '';

/** Per region, 10 passing tests in minute 0, 10 failing in minute 1: Availability 10 / 20 = 0.5 with nothing excused. */
async function postProbes(regions: string[]) {
  const probe = (region: string, id: string, ts: number, successes: number) => ({
    eventId: `${region}-${id}`,
    ts: iso(ts),
    service: 'voice',
    region,
    probeId: `p-${region}`,
    probeType: 'agent',
    attempts: 10,
    successes,
  });
  const res = await postJson(
    `${pipeline.url}/api/v1/events/probe`,
    regions.flatMap((region) => [probe(region, 'ok', at(0, 10), 10), probe(region, 'down', at(1, 10), 0)]),
    'application/json',
    bearer(plainToken()),
  );
  expect(res.status).toBe(200);
}

async function availability(region: string, extra = ''): Promise<AvailabilityReport> {
  const { status, body } = await getJson<AvailabilityReport>(
    `${pipeline.url}/api/v1/availability?service=voice&region=${region}&${range}${extra}`,
  );
  expect(status).toBe(200);
  return body;
}

/** The outage of minute 1, declared afterwards as if it had been planned a day ahead. */
const backdated = (region: string) => ({
  maintenanceId: `chg-${region}`,
  service: 'voice',
  region,
  start: iso(at(1)),
  end: iso(at(2)),
  declaredAt: iso(H0 - 86_400_000),
});

describe('maintenance honesty: receipt decides what was planned', () => {
  beforeAll(async () => {
    // Both regions' probes at once, before any declaration: windows of a past hour close at once.
    await postProbes(['north', 'south']);
    for (const region of ['north', 'south']) {
      await eventually(`20 attempts stored (${region})`, async () => {
        const r = await availability(region);
        return r.total.attempts === 20 ? r : undefined;
      });
    }
  });

  it('the reproduction, with a plain ingest token: Availability stays 0.5, the declaration listed retroactive, not excused', async () => {
    expect((await availability('north')).total.availability).toBe(0.5);

    const before = Date.now();
    const posted = await postJson(
      `${pipeline.url}/api/v1/events/maintenance`,
      [backdated('north')],
      'application/json',
      bearer(plainToken()),
    );
    expect(posted.status).toBe(200);
    // The probe windows are re-classified once the declaration is applied: its 10 attempts become retroactive.
    const r = await eventually('the declaration applied', async () => {
      const a = await availability('north');
      return a.maintenance.length === 1 && a.total.retroactiveAttempts === 10 ? a : undefined;
    });
    const [m] = r.maintenance;
    expect([m?.maintenanceId, m?.retroactive, m?.excused, m?.backdated]).toEqual(['chg-north', true, false, false]);
    // Counted as declared when received: now, not a day before the window.
    expect(Date.parse(m?.declaredAt ?? '')).toBeGreaterThanOrEqual(before);
    expect(m?.receivedAt).toBe(m?.declaredAt);
    // 10 / 20: the failed minute still counts against Availability (it was 1.0 before the fix).
    expect(r.total.availability).toBe(0.5);
    expect([r.total.retroactiveAttempts, r.total.plannedExcludedAttempts]).toEqual([10, 0]);
  });

  it('with a maintenance-history token: the back-dated declaration is planned, and shown as back-dated beside its receipt', async () => {
    expect((await availability('south')).total.availability).toBe(0.5);
    const before = Date.now();
    const posted = await postJson(
      `${pipeline.url}/api/v1/events/maintenance`,
      [backdated('south')],
      'application/json',
      bearer(history.token),
    );
    expect(posted.status).toBe(200);
    const r = await eventually('the declaration applied', async () => {
      const a = await availability('south');
      return a.maintenance.length === 1 && a.total.plannedExcludedAttempts === 10 ? a : undefined;
    });
    const [m] = r.maintenance;
    expect([m?.retroactive, m?.excused, m?.backdated, m?.declaredAt]).toEqual([false, true, true, iso(H0 - 86_400_000)]);
    expect(Date.parse(m?.receivedAt ?? '')).toBeGreaterThanOrEqual(before);
    // Minute 1 excused as planned: 10 / 10.
    expect(r.total.availability).toBe(1);
  });

  it('a maintenance-history token posts maintenance only', async () => {
    const res = await postJson(`${pipeline.url}/api/v1/events/probe`, [], 'application/json', bearer(history.token));
    expect(res.status).toBe(403);
  });
});

describe('the rule, as functions', () => {
  const received = Date.UTC(2026, 11, 7, 1, 0);
  it('declaredAt earlier than receipt is replaced by the receipt unless the token may back-date; later or absent as before', () => {
    expect(trustedDeclaredAt(received - 86_400_000, received, false)).toBe(received);
    expect(trustedDeclaredAt(received - 86_400_000, received, true)).toBe(received - 86_400_000);
    expect(trustedDeclaredAt(received + 5_000, received, false)).toBe(received + 5_000);
    expect(trustedDeclaredAt(undefined, received, true)).toBe(received);
  });

  it('mayBackdate: only a maintenance-history entry grants it, for maintenance; `*` does not', () => {
    const any = generateIngestToken('*');
    const hist = generateIngestToken('maintenance-history');
    const auth = IngestAuth.fromEntries(
      [any.entry, hist.entry].map((e) => {
        const [source = '', sha256 = ''] = e.split(':');
        return { source, sha256 };
      }),
    );
    expect(mayBackdate(auth.authorize(`Bearer ${any.token}`, 'maintenance'))).toBe(false);
    expect(mayBackdate(auth.authorize(`Bearer ${hist.token}`, 'maintenance'))).toBe(true);
    expect(auth.authorize(`Bearer ${hist.token}`, 'probe')).toMatchObject({ ok: false, status: 403 });
    expect(mayBackdate(IngestAuth.demo().authorize(`Bearer ${demoIngestCredentials().token}`, 'maintenance'))).toBe(false);
  });
});
