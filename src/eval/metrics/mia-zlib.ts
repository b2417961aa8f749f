// zlib attack (Carlini et al. 2021): mean token NLL / zlib-compressed length of the scored text.
import { defineMetric } from './registry.js';
import { MIA_FORGET, MIA_HOLDOUT, miaResult, MIA_KNOWLEDGE } from './mia-common.js';
import type { QaStats } from './common.js';
import { zlibScore } from '../scores.js';

defineMetric({
  name: 'mia_zlib',
  description: 'AUC of the zlib membership attack (mean NLL / zlib length), forget vs holdout',
  needs: [MIA_FORGET, MIA_HOLDOUT],
  group: 'privacy',
  higherIsBetter: null,
  knowledge: MIA_KNOWLEDGE,
  variant: true,
  async compute(ctx) {
    const f = await ctx.get<QaStats>(MIA_FORGET);
    const h = await ctx.get<QaStats>(MIA_HOLDOUT);
    return miaResult(
      f.map((x) => zlibScore(x.true, x.text)),
      h.map((x) => zlibScore(x.true, x.text)),
    );
  },
});
