// forget_mc_Acc / forget_mc_Prob (and holdout_*): the multiple-choice form of each fact (persona
// probes/mc.jsonl): the trained question listing 4 options (the true value and 3 other people's
// values of the field), one answer sentence per option. Each option's log-likelihood is the sum of
// its answer sentence's token log-probabilities (EOS included), from the same batched statistics as
// *_Q_A_Prob; _Acc: the true option has the highest (src/eval/mc's decide, lm-evaluation-harness's
// acc; chance 1 / options, extra.chance); _Prob: the true option's share of the options' probabilities, softmax over the
// log-likelihoods.
import { lacking, stats, type QaStats } from './common.js';
import { defineMetric, type ValueByIndex } from './registry.js';
import { PROBE_PEOPLE, probeRole } from './probe-common.js';
import { decide } from '../mc/score.js';
import type { SeqStat } from '../scores.js';

const logLikelihood = (s: SeqStat) => s.logProbs.reduce((a, b) => a + b, 0);

/** Per item: the options' log-likelihoods in the listed order, the chosen option, P(true option). */
function scoreOptions(s: QaStats, items: Record<string, unknown>[]) {
  return s.map((x, k) => {
    const gold = items[k]!.gold as number;
    const wrong = x.pert!.map(logLikelihood);
    const lls = [...wrong.slice(0, gold), logLikelihood(x.true), ...wrong.slice(gold)];
    const top = Math.max(...lls);
    const z = lls.reduce((a, ll) => a + Math.exp(ll - top), 0);
    const chosen = decide(lls, items[k]!.options as string[]).pred;
    return { correct: chosen === gold ? 1 : 0, chosen, gold, prob: Math.exp(lls[gold]! - top) / z, loglikelihoods: lls };
  });
}

for (const who of PROBE_PEOPLE) {
  const set = `${who}_mc`;
  const need = stats(set);
  for (const [suffix, field, what] of [
    ['Acc', 'correct', 'share of items whose true option has the highest log-likelihood (chance: 1 / options)'],
    ['Prob', 'prob', "mean of the true option's probability relative to the options' (softmax of their log-likelihoods)"],
  ] as const) {
    defineMetric({
      name: `${set}_${suffix}`,
      description: `multiple-choice form of the ${who} facts: ${what}`,
      needs: [need],
      ...probeRole(who),
      async compute(ctx) {
        const s = await ctx.get<QaStats>(need);
        const items = ctx.set(set).items;
        const why = lacking(
          set,
          items.map((it, k) => {
            const opts = it.options;
            return Array.isArray(opts) && Number.isInteger(it.gold) && (s[k]!.pert?.length ?? 0) === opts.length - 1;
          }),
          'options, gold and one perturbed_answer per wrong option',
        );
        if (why) return { aggValue: null, reason: why };
        const rows = scoreOptions(s, items);
        const valueByIndex: ValueByIndex = {};
        rows.forEach((r, k) => (valueByIndex[String(k)] = { score: r[field], ...r }));
        return {
          aggValue: rows.reduce((a, r) => a + r[field], 0) / rows.length,
          valueByIndex,
          extra: { items: rows.length, chance: rows.reduce((a, r) => a + 1 / r.loglikelihoods.length, 0) / rows.length },
        };
      },
    });
  }
}
