// TOFU's model utility: harmonic mean of nine values — retain set (probability, ROUGE, truth ratio),
// real authors and world facts (normalised probability, ROUGE, truth ratio). Lethe has no real-authors
// set; the stand-in (`ra`) is the world-facts questions about real people (who discovered an element,
// general/elements facts with fact = 'discovery'), and `wf` is the other element facts. Values that are
// absent are left out and listed in extra.missing.
import { defineMetric } from './registry.js';
import type { MetricResult } from './registry.js';
import { harmonicMean } from '../stats.js';

export const MODEL_UTILITY_PARTS = [
  'retain_Q_A_Prob',
  'retain_Q_A_ROUGE',
  'retain_Truth_Ratio',
  'ra_Q_A_Prob_normalised',
  'ra_Q_A_ROUGE',
  'ra_Truth_Ratio',
  'wf_Q_A_Prob_normalised',
  'wf_Q_A_ROUGE',
  'wf_Truth_Ratio',
];

defineMetric({
  name: 'model_utility',
  description: 'harmonic mean of retain, real-authors stand-in and world-facts probability, ROUGE and truth ratio (TOFU)',
  needs: MODEL_UTILITY_PARTS.map((name) => ({ kind: 'metric' as const, name })),
  group: 'utility',
  higherIsBetter: true,
  async compute(ctx) {
    const parts: Record<string, number> = {};
    const missing: string[] = [];
    for (const name of MODEL_UTILITY_PARTS) {
      let r: MetricResult | null = null;
      try {
        r = await ctx.get<MetricResult>({ kind: 'metric', name });
      } catch {
        r = null;
      }
      if (r && r.aggValue !== null && Number.isFinite(r.aggValue)) parts[name] = r.aggValue;
      else missing.push(name);
    }
    if (!Object.keys(parts).length) return { aggValue: null, reason: 'none of the retain / world-facts metrics could be computed' };
    return { aggValue: harmonicMean(Object.values(parts)), extra: { parts, missing } };
  },
});
