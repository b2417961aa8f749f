// Exact memorization (Tirumala et al. 2022, as open-unlearning): share of the forget answers' tokens
// (appended EOS left out) that the model's argmax predicts, teacher-forced.
import { defineMetric } from './registry.js';
import { stats, perItem, ANY, type QaStats } from './common.js';
import { exactMemorization } from '../scores.js';

defineMetric({
  name: 'exact_memorization',
  description: 'mean share of forget-answer tokens that are the argmax prediction (teacher forcing)',
  needs: [stats('forget', ANY)],
  group: 'forget',
  higherIsBetter: false,
  variant: true,
  async compute(ctx) {
    const s = await ctx.get<QaStats>(stats('forget', ANY));
    return perItem(
      s.map((x) => ({ score: exactMemorization(x.true) })),
      'score',
    );
  },
});
