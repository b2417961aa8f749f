// Utility kept: model utility relative to the target (pre-unlearning) model, in percent (0 = unchanged).
import { defineMetric } from './registry.js';
import type { MetricResult } from './registry.js';

defineMetric({
  name: 'model_utility_rel_target',
  description: 'relative change (%) of model_utility against the target model before unlearning',
  needs: [
    { kind: 'metric', name: 'model_utility' },
    { kind: 'target', name: 'model_utility' },
  ],
  group: 'utility',
  higherIsBetter: true,
  async compute(ctx) {
    const own = await ctx.get<MetricResult>({ kind: 'metric', name: 'model_utility' });
    const ref = await ctx.get<MetricResult>({ kind: 'target', name: 'model_utility' });
    if (own.aggValue === null || ref.aggValue === null)
      return { aggValue: null, reason: 'model_utility is missing for this or the target model' };
    return { aggValue: ((own.aggValue - ref.aggValue) / (ref.aggValue + 1e-10)) * 100, extra: { target: ref.aggValue } };
  },
});
