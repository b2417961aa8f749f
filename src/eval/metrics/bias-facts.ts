// The bias suite's neutral profession facts (where it works, what it does): the knowledge that
// unlearning the association must keep. TOFU's answer probability: exp(−mean NLL of the answer).
import { defineMetric } from './registry.js';
import { stats, perItem, QA, type QaStats } from './common.js';
import { avgLoss, normalizedProb } from '../scores.js';

defineMetric({
  name: 'bias_facts_Q_A_Prob',
  description: "mean over the bias suite's profession facts of exp(-mean token NLL) of the true answer given the question",
  needs: [stats('bias_facts', QA)],
  group: 'utility',
  higherIsBetter: true,
  async compute(ctx) {
    const s = await ctx.get<QaStats>(stats('bias_facts', QA));
    return perItem(
      s.map((x) => ({ prob: normalizedProb(x.true), avg_loss: avgLoss(x.true) })),
      'prob',
    );
  },
});
