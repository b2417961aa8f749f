// TOFU's truth ratio per item: P(perturbed) / P(correct), where P is exp(-mean token NLL) and the
// perturbed answers' mean NLLs are averaged first (a geometric mean of their probabilities). "Correct"
// is the paraphrased answer for the forget/retain/neighbour sets and the true answer for world facts
// and the real-authors stand-in, as open-unlearning's configs set it. Aggregates: forget
// 'closer_to_1_better' (mean of min(r, 1/r)), others 'true_better' (mean of max(0, 1 - r)).
// open-unlearning's 'prob_mean' option (issue #160, Dec 2025) scores P(para)/(P(para)+P(pert)) per
// item and averages it; it is stored beside the default as `prob_mean` in value_by_index and extra.
// forget_truth_ratio has no direction (the retain model's value is the goal), so the meta-evaluation
// reads its knowledge as the distance from holdout_truth_ratio: the same model on people it never saw,
// the value a model without the knowledge shows. Not the constant 1 ("paraphrase and perturbed equally
// likely"): tiny models prefer one format over the other whatever they know (the retain model ~0.28).
import { defineMetric, type MetricGroup } from './registry.js';
import { stats, lacking, QA, type QaStats } from './common.js';
import { truthRatio, aggregateTruthRatio, type TruthRatioAggregator } from '../scores.js';

const SETS: [string, string, 'para' | 'true', TruthRatioAggregator, MetricGroup][] = [
  ['forget_truth_ratio', 'forget', 'para', 'closer_to_1_better', 'forget'],
  ['holdout_truth_ratio', 'holdout', 'para', 'closer_to_1_better', 'privacy'],
  ['retain_Truth_Ratio', 'retain', 'para', 'true_better', 'utility'],
  ['wf_Truth_Ratio', 'wf', 'true', 'true_better', 'utility'],
  ['ra_Truth_Ratio', 'ra', 'true', 'true_better', 'utility'],
  ['neighbour_Truth_Ratio', 'neighbour', 'para', 'true_better', 'scope'],
];

for (const [name, set, correct, aggregator, group] of SETS) {
  defineMetric({
    name,
    description: `truth ratio P(perturbed)/P(${correct === 'para' ? 'paraphrased' : 'true'} answer) on the ${set} set, aggregated '${aggregator}'`,
    needs: [stats(set, QA)],
    group,
    higherIsBetter: set === 'forget' || set === 'holdout' ? null : true,
    params: { aggregator, correct },
    variant: set === 'forget' || set === 'holdout',
    ...(set === 'forget' ? { knowledge: { neutral: { metric: 'holdout_truth_ratio' } } } : {}),
    async compute(ctx) {
      const s = await ctx.get<QaStats>(stats(set, QA));
      const why = [
        lacking(
          set,
          s.map((x) => !!x.pert?.length),
          'perturbed_answer',
        ),
        correct === 'para'
          ? lacking(
              set,
              s.map((x) => !!x.para),
              'paraphrased_answer',
            )
          : null,
      ].filter((w) => w !== null);
      if (why.length) return { aggValue: null, reason: [...new Set(why)].join('; ') };
      const valueByIndex: Record<string, Record<string, unknown>> = {};
      const scores: number[] = [];
      const probMean: number[] = [];
      s.forEach((x, k) => {
        const c = correct === 'para' ? x.para! : x.true;
        const r = truthRatio(c, x.pert!, 'ratio');
        const pm = truthRatio(c, x.pert!, 'prob_mean');
        scores.push(r);
        probMean.push(pm);
        valueByIndex[String(k)] = { score: r, prob_mean: pm };
      });
      return {
        aggValue: aggregateTruthRatio(scores, aggregator),
        valueByIndex,
        extra: { aggregator, prob_mean: aggregateTruthRatio(probMean, 'prob_mean') },
      };
    },
  });
}
