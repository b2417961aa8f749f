// ROUGE of greedy answers: TOFU's `*_Q_A_ROUGE` (ROUGE-L recall against the true answer),
// `forget_Q_A_PARA_ROUGE` (against the paraphrased answer), MUSE's `*_knowmem_ROUGE` (ROUGE-L F1).
// Tokenised as rouge_score does (lower case, alphanumeric runs); no Porter stemming (open-unlearning
// passes use_stemmer=True, which merges inflections such as "answers"/"answer").
// A reference that is absent or has no words gives no score (ROUGE against an empty reference is 0
// by convention, which would read as "forgotten"): the metric is then null, with the count of such rows.
import { defineMetric, type MetricContext, type MetricGroup, type MetricResult } from './registry.js';
import { generations, lacking, perItem, QA } from './common.js';
import { rougeL, rougeTokens } from '../rouge.js';

const GROUP: Record<string, MetricGroup> = {
  forget: 'forget',
  retain: 'utility',
  wf: 'utility',
  ra: 'utility',
  neighbour: 'scope',
  forget_reformat: 'robustness',
  forget_jailbreak: 'robustness',
};

const hasWords = (v: unknown) => typeof v === 'string' && rougeTokens(v).length > 0;

/** Mean ROUGE-L (`score`: recall or F1) of each greedy answer against the row's `field`. */
async function rougeMetric(ctx: MetricContext, set: string, field: string, score: 'rougeL_recall' | 'rougeL_f1'): Promise<MetricResult> {
  const items = ctx.set(set).items;
  const why = lacking(
    set,
    items.map((it) => hasWords(it[field])),
    field,
  );
  if (why) return { aggValue: null, reason: why };
  const gens = await ctx.get<string[]>(generations(set, QA));
  const rows = gens.map((g, k) => {
    const ref = items[k]![field] as string;
    const r = rougeL(g, ref);
    return { rougeL_recall: r.recall, rougeL_f1: r.f1, input: items[k]!.question, ground_truth: ref, generation: g };
  });
  return perItem(rows, score);
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
      return rougeMetric(ctx, set, 'answer', 'rougeL_recall');
    },
  });
}

defineMetric({
  name: 'forget_Q_A_PARA_ROUGE',
  description: 'mean ROUGE-L recall of the greedy answer against the paraphrased answer on the forget set',
  needs: [generations('forget')],
  group: 'forget',
  higherIsBetter: false,
  variant: true,
  async compute(ctx) {
    return rougeMetric(ctx, 'forget', 'paraphrased_answer', 'rougeL_recall');
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
      return rougeMetric(ctx, set, 'answer', 'rougeL_f1');
    },
  });
}
