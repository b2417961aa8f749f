// Reference attack (Carlini et al. 2021): this model's mean token NLL minus a reference model's (the
// retain or base model) on the same sample; calibrates away how hard the text is.
import { defineMetric, type Need } from './registry.js';
import { MIA_FORGET, MIA_HOLDOUT, MIA_SETS, miaResult, MIA_KNOWLEDGE } from './mia-common.js';
import type { QaStats } from './common.js';
import type { SeqStat } from '../scores.js';
import { avgLoss } from '../scores.js';

const REF_F: Need = { kind: 'reference', set: 'forget', setKind: MIA_SETS };
const REF_H: Need = { kind: 'reference', set: 'holdout', setKind: MIA_SETS };

defineMetric({
  name: 'mia_reference',
  description: "AUC of the reference-model membership attack (NLL minus the reference model's NLL), forget vs holdout",
  needs: [MIA_FORGET, MIA_HOLDOUT, REF_F, REF_H],
  group: 'privacy',
  higherIsBetter: null,
  knowledge: MIA_KNOWLEDGE,
  noVariant: 'the reference model is not quantized or relearned with the evaluated model, so the calibration would compare unlike models',
  async compute(ctx) {
    const f = await ctx.get<QaStats>(MIA_FORGET);
    const h = await ctx.get<QaStats>(MIA_HOLDOUT);
    const rf = await ctx.get<SeqStat[]>(REF_F);
    const rh = await ctx.get<SeqStat[]>(REF_H);
    return miaResult(
      f.map((x, k) => avgLoss(x.true) - avgLoss(rf[k]!)),
      h.map((x, k) => avgLoss(x.true) - avgLoss(rh[k]!)),
    );
  },
});
