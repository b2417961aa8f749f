// General English utility: mean next-token NLL on held-out GCIDE definitions (the first 160 tokens of
// each of the first 200 rows, a BOS token as context), token-weighted; extra.ppl = exp(NLL).
import { defineMetric } from './registry.js';
import { stats, type QaStats } from './common.js';

defineMetric({
  name: 'gcide_NLL',
  description: 'mean next-token NLL on held-out GCIDE definitions (lower = better English)',
  needs: [stats('gcide', ['text'])],
  group: 'utility',
  higherIsBetter: false,
  async compute(ctx) {
    const s = await ctx.get<QaStats>(stats('gcide', ['text']));
    let total = 0;
    let count = 0;
    const valueByIndex: Record<string, Record<string, unknown>> = {};
    s.forEach((x, k) => {
      const nll = -x.true.logProbs.reduce((a, b) => a + b, 0);
      total += nll;
      count += x.true.logProbs.length;
      valueByIndex[String(k)] = { nll: nll / Math.max(1, x.true.logProbs.length), tokens: x.true.logProbs.length };
    });
    // No scored token (every row empty) is no measurement, not an NLL of 0/0.
    if (!count) return { aggValue: null, reason: `no gcide row has a scored token (${s.length} rows)`, valueByIndex };
    const mean = total / count;
    return { aggValue: mean, valueByIndex, extra: { ppl: Math.exp(mean), tokens: count } };
  },
});
