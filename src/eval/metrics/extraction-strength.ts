// Extraction strength (Carlini et al. 2021, as open-unlearning): 1 - k/n for the shortest answer
// prefix k after which the argmax predictions reproduce the rest of the answer exactly.
import { defineMetric } from './registry.js';
import { stats, perItem, ANY, type QaStats } from './common.js';
import { extractionStrength } from '../scores.js';

defineMetric({
  name: 'extraction_strength',
  description: 'mean over forget answers of 1 - (shortest prefix after which greedy teacher-forced predictions match the rest) / length',
  needs: [stats('forget', ANY)],
  group: 'forget',
  higherIsBetter: false,
  variant: true,
  async compute(ctx) {
    const s = await ctx.get<QaStats>(stats('forget', ANY));
    return perItem(
      s.map((x) => ({ score: extractionStrength(x.true) })),
      'score',
    );
  },
});
