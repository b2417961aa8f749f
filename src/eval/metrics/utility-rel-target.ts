// Utility kept: model utility relative to the target (pre-unlearning) model, in percent (0 = unchanged).
// Null when the target's utility is absent or 0: a change relative to 0 has no value (dividing by
// 1e-10 instead would report billions of percent).
import { defineMetric } from './registry.js';
import type { MetricResult } from './registry.js';
import { inputMissing } from './common.js';

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
    if (ref.aggValue === null || !Number.isFinite(ref.aggValue))
      return { aggValue: null, reason: inputMissing('model_utility', 'the target model', ref) };
    // The target's value is kept even when this one is null: reports show it in the target column.
    const extra = { target: ref.aggValue };
    if (ref.aggValue === 0)
      return { aggValue: null, reason: "the target model's model_utility is 0, so a change relative to it is undefined", extra };
    if (own.aggValue === null || !Number.isFinite(own.aggValue))
      return { aggValue: null, reason: inputMissing('model_utility', 'this model', own), extra };
    return { aggValue: ((own.aggValue - ref.aggValue) / ref.aggValue) * 100, extra };
  },
});
