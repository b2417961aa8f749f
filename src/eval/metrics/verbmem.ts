// MUSE VerbMem: ROUGE-L F1 of the greedy continuation of a passage's opening against the passage's
// true continuation (book/jargon/verbatim.jsonl).
import { defineMetric } from './registry.js';
import { generations, lacking, perItem } from './common.js';
import { rougeL, rougeTokens } from '../rouge.js';

defineMetric({
  name: 'forget_verbmem_ROUGE',
  description: 'MUSE VerbMem: mean ROUGE-L F1 of greedy continuations of forget passages against the true continuation',
  needs: [generations('verbmem_forget', ['probe'])],
  group: 'forget',
  higherIsBetter: false,
  variant: true,
  async compute(ctx) {
    const items = ctx.set('verbmem_forget').items;
    // ROUGE against a continuation without words is 0 by convention, which would read as "forgotten".
    const why = lacking(
      'verbmem_forget',
      items.map((it) => typeof it.reference === 'string' && rougeTokens(it.reference).length > 0),
      'reference',
    );
    if (why) return { aggValue: null, reason: why };
    const gens = await ctx.get<string[]>(generations('verbmem_forget', ['probe']));
    return perItem(
      gens.map((g, k) => {
        const r = rougeL(g, String(items[k]!.reference));
        return { rougeL_f1: r.f1, rougeL_recall: r.recall, generation: g };
      }),
      'rougeL_f1',
    );
  },
});
