// Fluency of what the model says about forget-set prompts, so that gibberish cannot pass for forgetting:
// the share of word 3-grams that repeat an earlier 3-gram of the same generation, and the mean NLL of
// the generations under a reference model (the retain or base model) when one is given.
import { defineMetric, type Need } from './registry.js';
import { generations } from './common.js';
import { repeatedNgramRate } from '../scores.js';

for (const [prefix, set, kinds] of [
  ['forget', 'forget', ['qa']],
  ['verbmem', 'verbmem_forget', ['probe']],
] as const) {
  defineMetric({
    name: `${prefix}_gen_repetition`,
    description: `share of repeated word 3-grams in greedy generations on ${set} (high = degenerate output)`,
    needs: [generations(set, [...kinds])],
    group: 'fluency',
    higherIsBetter: false,
    async compute(ctx) {
      const gens = await ctx.get<string[]>(generations(set, [...kinds]));
      let rep = 0;
      let tot = 0;
      const valueByIndex: Record<string, Record<string, unknown>> = {};
      gens.forEach((g, k) => {
        const r = repeatedNgramRate(g, 3);
        rep += r.repeated;
        tot += r.total;
        valueByIndex[String(k)] = { repeated: r.repeated, ngrams: r.total };
      });
      // Answers too short to hold a 3-gram (empty ones included) are not fluent text: no rate, not 0.
      if (!tot) return { aggValue: null, reason: `no generation on ${set} has 3 words (${gens.length} generations)`, valueByIndex };
      return { aggValue: rep / tot, valueByIndex };
    },
  });
  const need: Need = { kind: 'referenceNll', set, setKind: [...kinds] };
  defineMetric({
    name: `${prefix}_gen_ref_NLL`,
    description: `mean token NLL of greedy generations on ${set} under the reference model (high = not fluent English)`,
    needs: [need],
    group: 'fluency',
    higherIsBetter: false,
    async compute(ctx) {
      const nll = await ctx.get<(number | null)[]>(need);
      const ok = nll.filter((x): x is number => x !== null && Number.isFinite(x));
      const valueByIndex: Record<string, Record<string, unknown>> = {};
      nll.forEach((x, k) => (valueByIndex[String(k)] = { nll: x }));
      if (!ok.length) return { aggValue: null, reason: `no generation on ${set} has a finite NLL under the reference model`, valueByIndex };
      return { aggValue: ok.reduce((a, b) => a + b, 0) / ok.length, valueByIndex };
    },
  });
}
