import { z } from 'zod';

/**
 * The `incidents:` section of the model file (schemas/model/cx-model.v1.yaml): how each
 * signal is judged against its baseline and how anomalous minutes become incidents.
 * Declared once here; services/model/schema.ts embeds it, docs/incidents.md explains it.
 */

export const SIGNAL_IDS = [
  'serviceability',
  'availability',
  'contact_volume',
  'abandonment_rate',
  'asa_sec',
  'social_negative_share',
  'social_volume',
  'nps',
  'csat',
] as const;
export type SignalId = (typeof SIGNAL_IDS)[number];

const positive = z.number().finite().positive();
const minutes = z.number().int().positive();

const signalShape = {
  /** A minute is anomalous when its score (robust z, positive = worse) reaches this. */
  threshold: positive,
  /** Floor of the spread, in the signal's unit: a flat history (MAD 0) does not make every wobble infinite. */
  minSpread: positive,
  /** Fewest events behind a value (attempts, offered, answered, mentions, responses); fewer: not judged. */
  minCount: z.number().int().nonnegative(),
  /** The value is computed over this many minutes ending at the minute (sums, then the ratio): sparse surveys need more than one. */
  windowMinutes: minutes,
  /** Whether this signal can open an incident (slow signals only corroborate one already open). */
  canOpen: z.boolean(),
};
const signalSettings = z.strictObject({
  ...signalShape,
  minCount: signalShape.minCount.default(1),
  windowMinutes: signalShape.windowMinutes.default(1),
  canOpen: signalShape.canOpen.default(true),
});
/** What the file may say of a signal: any of its settings, the rest from the defaults. */
const signalOverride = z.strictObject(signalShape).partial();
export type SignalSettings = z.output<typeof signalSettings>;

const defaultSignal = (s: z.input<typeof signalSettings>) => signalSettings.parse(s);

export const DEFAULT_SIGNALS: Record<SignalId, SignalSettings> = {
  serviceability: defaultSignal({ threshold: 5, minSpread: 0.02, minCount: 10 }),
  availability: defaultSignal({ threshold: 5, minSpread: 0.02, minCount: 10 }),
  contact_volume: defaultSignal({ threshold: 4, minSpread: 1.5, minCount: 0, windowMinutes: 2 }),
  abandonment_rate: defaultSignal({ threshold: 3, minSpread: 0.15, minCount: 6, windowMinutes: 2 }),
  asa_sec: defaultSignal({ threshold: 4, minSpread: 20, minCount: 4, windowMinutes: 2 }),
  social_negative_share: defaultSignal({ threshold: 3, minSpread: 0.15, minCount: 5, windowMinutes: 2 }),
  social_volume: defaultSignal({ threshold: 4, minSpread: 1, minCount: 0, windowMinutes: 2 }),
  nps: defaultSignal({ threshold: 3, minSpread: 15, minCount: 8, windowMinutes: 30, canOpen: false }),
  csat: defaultSignal({ threshold: 3, minSpread: 15, minCount: 4, windowMinutes: 30, canOpen: false }),
};

const baselineSettings = z.strictObject({
  /** Same minute of the week, this many weeks back. */
  seasonalWeeks: z.number().int().nonnegative().default(4),
  /** Fewest same-minute-of-week values for a seasonal baseline; fewer: recent history. */
  minSeasonalSamples: z.number().int().positive().default(3),
  /** Recent history: the minutes before the window of the value judged. */
  recentMinutes: minutes.default(60),
  /** Fewest recent values for a baseline; fewer: the minute is not judged (warming up). */
  minRecentSamples: z.number().int().positive().default(15),
});

export const incidentSettingsSchema = z.strictObject({
  baseline: baselineSettings.prefault({}),
  /** A signal that first turns anomalous more than this after an incident's start is not grouped into it. */
  horizonMinutes: minutes.default(60),
  /** An incident resolves when no signal has been anomalous for this many minutes. */
  resolveAfterMinutes: minutes.default(10),
  /** Anomalous minutes before the opening minute, at most this far back, set the incident's start. */
  lookbackMinutes: z.number().int().nonnegative().default(5),
  /** Customers react to planned work after it ends too: no incident opens this long after planned maintenance. */
  maintenanceAftermathMinutes: z.number().int().nonnegative().default(20),
  /** Customer signals anomalous in the same minute that open an incident without a network signal. */
  customerSignalsToOpen: z.number().int().positive().default(2),
  signals: z
    .strictObject(
      Object.fromEntries(SIGNAL_IDS.map((id) => [id, signalOverride.optional()])) as {
        [K in SignalId]: z.ZodOptional<typeof signalOverride>;
      },
    )
    .default({}),
});

export type IncidentSettingsFile = z.input<typeof incidentSettingsSchema>;

export interface IncidentSettings {
  baseline: z.output<typeof baselineSettings>;
  horizonMinutes: number;
  resolveAfterMinutes: number;
  lookbackMinutes: number;
  maintenanceAftermathMinutes: number;
  customerSignalsToOpen: number;
  signals: Record<SignalId, SignalSettings>;
}

/** Settings with every signal's defaults filled in under what the file says. */
export function incidentSettings(file: IncidentSettingsFile | undefined = {}): IncidentSettings {
  const parsed = incidentSettingsSchema.parse(file);
  const signals = Object.fromEntries(
    SIGNAL_IDS.map((id) => [id, signalSettings.parse({ ...DEFAULT_SIGNALS[id], ...(parsed.signals[id] ?? {}) })]),
  ) as Record<SignalId, SignalSettings>;
  return { ...parsed, signals };
}

export const DEFAULT_INCIDENT_SETTINGS: IncidentSettings = incidentSettings({});
