// "Who's Harry Potter?" familiarity, judge-free. Completion-based: the share of greedy continuations of
// book prompts ("When a hacker says "black hole", they mean") that use one of the book's anchored terms
// (terms already in the prompt do not count). Probability-based: the probability of an anchored term's
// first token right after a passage prefix that preceded it in the book.
import { defineMetric } from './registry.js';
import { generations, stats, perItem, type QaStats } from './common.js';

function containsTerm(text: string, term: string): boolean {
  const t = term.toLowerCase();
  const s = text.toLowerCase();
  for (let at = s.indexOf(t); at >= 0; at = s.indexOf(t, at + 1)) {
    const before = s[at - 1];
    const after = s[at + t.length];
    if (!(before && /[a-z0-9]/.test(before)) && !(after && /[a-z0-9]/.test(after))) return true;
  }
  return false;
}

defineMetric({
  name: 'forget_familiarity_completion',
  description: "share of greedy continuations of book prompts that use one of the book's anchored terms (not already in the prompt)",
  needs: [generations('familiarity_completion', ['probe'])],
  group: 'forget',
  higherIsBetter: false,
  variant: true,
  async compute(ctx) {
    const set = ctx.set('familiarity_completion');
    const terms = (set.items[0]?.anchored_terms as string[] | undefined) ?? [];
    if (!terms.length) return { aggValue: null, reason: 'no anchored terms in the book suite' };
    const gens = await ctx.get<string[]>(generations('familiarity_completion', ['probe']));
    return perItem(
      gens.map((g, k) => {
        const prompt = String(set.items[k]!.prompt);
        const found = terms.filter((t) => !containsTerm(prompt, t) && containsTerm(g, t));
        return { score: found.length ? 1 : 0, terms: found, generation: g };
      }),
      'score',
    );
  },
});

defineMetric({
  name: 'forget_familiarity_prob',
  description: "mean probability of an anchored term's first token after a passage prefix that preceded it in the book",
  needs: [stats('familiarity_anchored', ['pair'])],
  group: 'forget',
  higherIsBetter: false,
  variant: true,
  async compute(ctx) {
    const s = await ctx.get<QaStats>(stats('familiarity_anchored', ['pair']));
    const items = ctx.set('familiarity_anchored').items;
    return perItem(
      // A term with no scored token (cut off by the context length) has no probability, not 0.
      s.map((x, k) => ({ prob: x.true.logProbs.length ? Math.exp(x.true.logProbs[0]!) : null, term: items[k]!.term })),
      'prob',
    );
  },
});
