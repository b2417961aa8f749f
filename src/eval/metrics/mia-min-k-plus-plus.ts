// Min-K%++ (Zhang et al. 2024), k = 0.4: token log-probs normalised by the mean and standard deviation
// of log p over the whole next-token distribution, then Min-K% of those.
import { defineMetric } from './registry.js';
import { MIA_FORGET, MIA_HOLDOUT, miaResult, MIA_KNOWLEDGE } from './mia-common.js';
import type { QaStats } from './common.js';
import { minKPlusPlus } from '../scores.js';

const K = 0.4;

defineMetric({
  name: 'mia_min_k_plus_plus',
  description: `AUC of the Min-K%++ membership attack (k = ${K}), forget vs holdout`,
  needs: [MIA_FORGET, MIA_HOLDOUT],
  group: 'privacy',
  higherIsBetter: null,
  knowledge: MIA_KNOWLEDGE,
  variant: true,
  params: { k: K },
  async compute(ctx) {
    const f = await ctx.get<QaStats>(MIA_FORGET);
    const h = await ctx.get<QaStats>(MIA_HOLDOUT);
    return miaResult(
      f.map((x) => -minKPlusPlus(x.true, K)),
      h.map((x) => -minKPlusPlus(x.true, K)),
    );
  },
});
