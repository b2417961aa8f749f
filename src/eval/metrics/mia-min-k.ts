// Min-K% Prob (Shi et al. 2023), k = 0.4 as open-unlearning's TOFU and MUSE configs: score = -(mean of
// the lowest 40% token log-probs).
import { defineMetric } from './registry.js';
import { MIA_FORGET, MIA_HOLDOUT, miaResult, MIA_KNOWLEDGE } from './mia-common.js';
import type { QaStats } from './common.js';
import { minK } from '../scores.js';

export const MIN_K = 0.4;

defineMetric({
  name: 'mia_min_k',
  description: `AUC of the Min-K% membership attack (k = ${MIN_K}), forget vs holdout`,
  needs: [MIA_FORGET, MIA_HOLDOUT],
  group: 'privacy',
  higherIsBetter: null,
  knowledge: MIA_KNOWLEDGE,
  params: { k: MIN_K },
  variant: true,
  async compute(ctx) {
    const f = await ctx.get<QaStats>(MIA_FORGET);
    const h = await ctx.get<QaStats>(MIA_HOLDOUT);
    return miaResult(
      f.map((x) => -minK(x.true, MIN_K)),
      h.map((x) => -minK(x.true, MIN_K)),
    );
  },
});
