import { z } from 'zod';
import { incidentSettingsSchema } from '../incidents/settings.ts';

/**
 * The shape of schemas/model/cx-model.v1.yaml, as written by a person. Objects are strict
 * so a misspelt key ("wieght") is an error, not a silently ignored line. Checks that need
 * the whole file (references, duplicates, directions) live in model.ts.
 */

const name = z.string().trim().min(1, { message: 'must not be empty' }).max(128, { message: 'must be at most 128 characters' });

const weight = z.number().finite().positive({ message: 'weights must be greater than 0' });

const kpiScale = z
  .strictObject({
    /** Value scoring 100. */
    best: z.number().finite(),
    /** Value scoring 0. */
    worst: z.number().finite(),
    label: name.optional(),
  })
  .refine((s) => s.best !== s.worst, { path: ['worst'], message: 'best and worst must differ (the score would divide by 0)' });

const kqi = z.strictObject({
  name,
  label: name.optional(),
  kpis: z.array(z.strictObject({ kpi: name, weight })).min(1, { message: 'a KQI needs at least one KPI' }),
});

/** `internal`, or the partner's name. */
const supplier = name;

const catalog = z.strictObject({
  resourceServices: z.array(z.strictObject({ name, label: name.optional(), supplier })).default([]),
  customerServices: z
    .array(z.strictObject({ name, label: name.optional(), supplier: supplier.default('internal'), resources: z.array(name) }))
    .default([]),
  products: z.array(z.strictObject({ name, label: name.optional(), services: z.array(name).min(1) })).default([]),
});

export const modelFileSchema = z.strictObject({
  /** The model's own version: raise it with every change that should be told apart in stored rows. */
  version: z.number().int().positive(),
  description: z.string().optional(),
  kpis: z.record(name, kpiScale),
  kqis: z.array(kqi).min(1, { message: 'the model needs at least one KQI' }),
  csi: z.strictObject({
    kqis: z.array(z.strictObject({ kqi: name, weight })).min(1, { message: 'the CSI needs at least one KQI' }),
  }),
  /** Segment → customer value weight, for the value-weighted CSI. */
  segments: z.record(name, weight).default({}),
  catalog: catalog.default({ resourceServices: [], customerServices: [], products: [] }),
  /** Anomaly thresholds and incident rules (services/incidents/settings.ts, docs/incidents.md). */
  incidents: incidentSettingsSchema.optional(),
});

export type ModelFile = z.output<typeof modelFileSchema>;
