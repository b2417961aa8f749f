// TOFU's model utility: harmonic mean of nine values — retain set (probability, ROUGE, truth ratio),
// real authors and world facts (normalised probability, ROUGE, truth ratio). Lethe has no real-authors
// set; the stand-in (`ra`) is the world-facts questions about real people (who discovered an element,
// general/elements facts with fact = 'discovery'), and `wf` is the other element facts. All nine or
// nothing: a harmonic mean of some of them is another number under TOFU's name, so with any part
// absent it is null, the missing parts and their reasons listed.
import { defineMetric } from './registry.js';
import { harmonicOfAll } from './common.js';

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
  compute: (ctx) => harmonicOfAll(ctx, MODEL_UTILITY_PARTS),
});
