// LOSS attack (Yeom et al. 2018): the sample's mean token NLL.
import { defineMetric } from './registry.js';
import { MIA_FORGET, MIA_HOLDOUT, miaResult, MIA_KNOWLEDGE } from './mia-common.js';
import type { QaStats } from './common.js';
import { avgLoss } from '../scores.js';

defineMetric({
  name: 'mia_loss',
  description: 'AUC of the LOSS membership attack (mean token NLL), forget vs holdout',
  needs: [MIA_FORGET, MIA_HOLDOUT],
  group: 'privacy',
  higherIsBetter: null,
  knowledge: MIA_KNOWLEDGE,
  variant: true,
  async compute(ctx) {
    const f = await ctx.get<QaStats>(MIA_FORGET);
    const h = await ctx.get<QaStats>(MIA_HOLDOUT);
    return miaResult(
      f.map((x) => avgLoss(x.true)),
      h.map((x) => avgLoss(x.true)),
    );
  },
});
