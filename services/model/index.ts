/** The KPI → KQI → CSI model: what the aggregator, the API and the goals service import. */

export { partnersOfService, productsOfService, servicesOfProduct, suppliersOfService } from './catalog.ts';
export { type ExplainOptions, explainCsi, explainCsiChange, formatKpiValue } from './explain.ts';
export { DEFAULT_MODEL_PATH, loadModel, ModelError, type ModelWatch, type WatchOptions, watchModel } from './load.ts';
export { parseModel } from './model.ts';
export {
  type CsiScore,
  type KpiScore,
  type KpiValueMap,
  type KqiContribution,
  type KqiScore,
  scoreCsi,
  scoreKpi,
  scoreKqi,
  scoreWindows,
} from './score.ts';
export { type SegmentContribution, scoreValueWeightedCsi, type ValueWeightedCsi } from './segments.ts';
export type * from './types.ts';
