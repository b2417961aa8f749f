// MUSE's PrivLeak, as open-unlearning computes it: the Min-K% AUC of this model relative to the retain
// model's on the same forget/holdout sets, ((1 - auc) - (1 - auc_retain)) / (1 - auc_retain) · 100.
// 0 = leaks exactly as much as retraining; without a retain model it is absent (no 0.5 default).
import { defineMetric } from './registry.js';
import type { MetricResult } from './registry.js';

defineMetric({
  name: 'privleak',
  description: "relative difference (%) of the Min-K% MIA AUC against the retain model's (0 = as private as retraining)",
  needs: [
    { kind: 'metric', name: 'mia_min_k' },
    { kind: 'retain', name: 'mia_min_k' },
  ],
  group: 'privacy',
  higherIsBetter: null,
  async compute(ctx) {
    const own = await ctx.get<MetricResult>({ kind: 'metric', name: 'mia_min_k' });
    const ref = await ctx.get<MetricResult>({ kind: 'retain', name: 'mia_min_k' });
    if (own.aggValue === null || ref.aggValue === null)
      return { aggValue: null, reason: 'mia_min_k is missing for this or the retain model' };
    const score = 1 - own.aggValue;
    const r = 1 - ref.aggValue;
    return { aggValue: ((score - r) / (r + 1e-10)) * 100, extra: { auc: own.aggValue, retain_auc: ref.aggValue } };
  },
});
