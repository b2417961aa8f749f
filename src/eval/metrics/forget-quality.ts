// TOFU's forget quality: p-value of the two-sample Kolmogorov–Smirnov test between this model's
// per-item forget truth ratios and the retain model's (scipy's ks_2samp, method 'auto').
import { defineMetric } from './registry.js';
import type { MetricResult } from './registry.js';
import { inputMissing, scoresOf } from './common.js';
import { ksTwoSample } from '../stats.js';

defineMetric({
  name: 'forget_quality',
  description: "KS-test p-value of forget-set truth ratios against the retain model's (1 = indistinguishable from retraining)",
  needs: [
    { kind: 'metric', name: 'forget_truth_ratio' },
    { kind: 'retain', name: 'forget_truth_ratio' },
  ],
  group: 'forget',
  higherIsBetter: true,
  noVariant: "a KS test against the retain model's truth ratios, which are not quantized or relearned alongside",
  async compute(ctx) {
    const own = await ctx.get<MetricResult>({ kind: 'metric', name: 'forget_truth_ratio' });
    const ref = await ctx.get<MetricResult>({ kind: 'retain', name: 'forget_truth_ratio' });
    if (own.aggValue === null) return { aggValue: null, reason: inputMissing('forget_truth_ratio', 'this model', own) };
    if (ref.aggValue === null) return { aggValue: null, reason: inputMissing('forget_truth_ratio', 'the retain model', ref) };
    const ks = ksTwoSample(scoresOf(own), scoresOf(ref));
    return { aggValue: ks.pvalue, extra: { ks_statistic: ks.statistic, method: ks.method } };
  },
});
