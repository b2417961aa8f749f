// ROUGE of greedy answers: TOFU's `*_Q_A_ROUGE` (ROUGE-L recall against the true answer),
// `forget_Q_A_PARA_ROUGE` (against the paraphrased answer), MUSE's `*_knowmem_ROUGE` (ROUGE-L F1).
// Tokenised as rouge_score does (lower case, alphanumeric runs); no Porter stemming (open-unlearning
// passes use_stemmer=True, which merges inflections such as "answers"/"answer").
import { defineMetric, type MetricGroup } from './registry.js';
import { generations, perItem, QA } from './common.js';
import { rougeL } from '../rouge.js';

const GROUP: Record<string, MetricGroup> = {
  forget: 'forget',
  retain: 'utility',
  wf: 'utility',
  ra: 'utility',
  neighbour: 'scope',
  forget_reformat: 'robustness',
  forget_jailbreak: 'robustness',
};

function rougeRows(gens: string[], items: Record<string, unknown>[], field: string) {
  return gens.map((g, k) => {
    const ref = String(items[k]![field] ?? '');
    const r = rougeL(g, ref);
    return { rougeL_recall: r.recall, rougeL_f1: r.f1, input: items[k]!.question, ground_truth: ref, generation: g };
  });
}

for (const set of Object.keys(GROUP)) {
  defineMetric({
    name: `${set}_Q_A_ROUGE`,
    description: `mean ROUGE-L recall of the greedy answer against the true answer on the ${set} set`,
    needs: [generations(set)],
    group: GROUP[set]!,
    higherIsBetter: !(GROUP[set] === 'forget' || GROUP[set] === 'robustness'),
    variant: set === 'forget',
    async compute(ctx) {
      const gens = await ctx.get<string[]>(generations(set));
      return perItem(rougeRows(gens, ctx.set(set).items, 'answer'), 'rougeL_recall');
    },
  });
}

defineMetric({
  name: 'forget_Q_A_PARA_ROUGE',
  description: 'mean ROUGE-L recall of the greedy answer against the paraphrased answer on the forget set',
  needs: [generations('forget')],
  group: 'forget',
  higherIsBetter: false,
  async compute(ctx) {
    const gens = await ctx.get<string[]>(generations('forget'));
    return perItem(rougeRows(gens, ctx.set('forget').items, 'paraphrased_answer'), 'rougeL_recall');
  },
});

for (const [name, set, group] of [
  ['forget_knowmem_ROUGE', 'knowmem_forget', 'forget'],
  ['retain_knowmem_ROUGE', 'knowmem_retain', 'utility'],
] as const) {
  defineMetric({
    name,
    description: `MUSE KnowMem: mean ROUGE-L F1 of the greedy answer against the true answer on ${set}`,
    needs: [generations(set, QA)],
    group,
    higherIsBetter: group !== 'forget',
    variant: group === 'forget',
    async compute(ctx) {
      const gens = await ctx.get<string[]>(generations(set, QA));
      return perItem(rougeRows(gens, ctx.set(set).items, 'answer'), 'rougeL_f1');
    },
  });
}
