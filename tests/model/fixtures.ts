import { parseModel } from '../../services/model/model.ts';
import type { CxModel } from '../../services/model/types.ts';

/**
 * A small model whose scores are easy to compute by hand:
 *   care_responsiveness (CSI weight 3): asa_sec ×2, service_level ×2, abandonment_rate ×1
 *   customer_voice      (CSI weight 1): nps ×1, csat ×1
 */
export const SMALL_MODEL = `
version: 3
kpis:
  asa_sec: { best: 20, worst: 300 }
  service_level: { best: 1, worst: 0.5 }
  abandonment_rate: { best: 0, worst: 0.5 }
  nps: { best: 60, worst: -20 }
  csat: { best: 90, worst: 50 }
kqis:
  - name: care_responsiveness
    kpis:
      - { kpi: asa_sec, weight: 2 }
      - { kpi: service_level, weight: 2 }
      - { kpi: abandonment_rate, weight: 1 }
  - name: customer_voice
    kpis:
      - { kpi: nps, weight: 1 }
      - { kpi: csat, weight: 1 }
csi:
  kqis:
    - { kqi: care_responsiveness, weight: 3 }
    - { kqi: customer_voice, weight: 1 }
segments:
  consumer: 1
  business: 3
  vip: 4
`;

export function model(text: string = SMALL_MODEL): CxModel {
  const result = parseModel(text);
  if (!result.ok) throw new Error(result.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  return result.model;
}
