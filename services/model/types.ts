import type { IncidentSettings } from '../incidents/settings.ts';
import type { KpiUnit } from '../shared/kpi/catalog.ts';

/** The validated KPI → KQI → CSI model (docs/model.md). Plain data, safe to serialise. */
export interface CxModel {
  /** The `version` written in the file. */
  version: number;
  /** sha256 of the model's content (canonical JSON, so comments and layout do not change it). */
  hash: string;
  description: string | null;
  /**
   * Every KPI a KQI uses, with the values scoring 100 (`best`) and 0 (`worst`). Keys are
   * KPI ids: the built-in catalog's (services/shared/kpi/catalog.ts) or a declared source's.
   */
  kpis: Record<string, KpiScale>;
  kqis: KqiDefinition[];
  csi: WeightedKqi[];
  /** Segment → customer value weight. */
  segments: Record<string, number>;
  catalog: ServiceCatalog;
  /** The file's `incidents:` section with defaults filled in; absent when the file has none (defaults apply). */
  incidents?: IncidentSettings;
}

export interface KpiScale {
  kpi: string;
  label: string;
  unit: KpiUnit;
  best: number;
  worst: number;
}

export interface KqiDefinition {
  name: string;
  label: string;
  kpis: { kpi: string; weight: number }[];
}

export interface WeightedKqi {
  kqi: string;
  weight: number;
}

export type Supplier = { kind: 'internal' } | { kind: 'partner'; partner: string };

export interface ResourceService {
  name: string;
  label: string;
  supplier: Supplier;
}

export interface CustomerService {
  name: string;
  label: string;
  supplier: Supplier;
  /** Resource-facing services it runs on. */
  resources: string[];
}

export interface Product {
  name: string;
  label: string;
  /** Customer-facing services it is sold as. */
  services: string[];
}

export interface ServiceCatalog {
  products: Product[];
  customerServices: CustomerService[];
  resourceServices: ResourceService[];
}

/** A KPI the model may score beyond the built-in catalog: one declared by a source (DeclaredKpi fits). */
export interface ExtraKpi {
  id: string;
  label: string;
  unit: KpiUnit;
  better: 'higher' | 'lower' | 'either';
}

export interface ParseOptions {
  /** KPIs of declared sources (`declaredKpis()` of the source registry). */
  extraKpis?: readonly ExtraKpi[];
}

/** One problem in a model file, at a path a person can find (`kqis[2].kpis[0].kpi`). */
export interface ModelIssue {
  code: string;
  path: string;
  message: string;
}

export type ParseResult = { ok: true; model: CxModel } | { ok: false; issues: ModelIssue[] };
