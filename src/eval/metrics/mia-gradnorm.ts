// Gradient-norm attack (Wang et al. 2024, as open-unlearning's mia/gradnorm.py, p = 2): the mean over
// parameter tensors of the norm of the sample loss's gradient; unseen samples have larger gradients.
import { defineMetric, type Need } from './registry.js';
import { MIA_SETS, miaResult, MIA_KNOWLEDGE } from './mia-common.js';

const GF: Need = { kind: 'gradNorm', set: 'forget', setKind: MIA_SETS };
const GH: Need = { kind: 'gradNorm', set: 'holdout', setKind: MIA_SETS };

defineMetric({
  name: 'mia_gradnorm',
  description: 'AUC of the gradient-norm membership attack (p = 2), forget vs holdout',
  needs: [GF, GH],
  group: 'privacy',
  higherIsBetter: null,
  knowledge: MIA_KNOWLEDGE,
  noVariant: 'gradients are taken on the full-precision weights; a quantized copy has none to take',
  params: { p: 2 },
  async compute(ctx) {
    return miaResult(await ctx.get<number[]>(GF), await ctx.get<number[]>(GH));
  },
});
