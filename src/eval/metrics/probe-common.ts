// What the persona probe metrics share (probe-paraphrase.ts, probe-cloze.ts, probe-chain.ts,
// probe-mc.ts): one metric per probe for the forget people and one for the people never trained on,
// whose value is the baseline of a model that knows nothing about a person. A suite without the
// probe files has no such sets, so the metrics are skipped, or null naming the missing set.
import { defineMetric, type MetricDefinition, type MetricGroup, type SetKind } from './registry.js';
import { perItem, stats, type QaStats } from './common.js';
import { avgLoss, normalizedProb } from '../scores.js';
import { mean } from '../stats.js';

export const PROBE_PEOPLE = ['forget', 'holdout'] as const;
export type ProbePeople = (typeof PROBE_PEOPLE)[number];

/** Both in the report's Robustness section, side by side: the forget people's probes say what unlearning left (lower
 *  is better; also read on the quantized and relearned variants); the holdout people's are a baseline, not a goal. */
export function probeRole(who: ProbePeople): { group: MetricGroup; higherIsBetter: boolean | null; variant: boolean } {
  return { group: 'robustness', higherIsBetter: who === 'forget' ? false : null, variant: who === 'forget' };
}

/** Means of `values` per distinct `keys` value (keys sorted). */
export function meanBy(keys: readonly unknown[], values: readonly number[]): Record<string, number> {
  const groups = new Map<string, number[]>();
  keys.forEach((k, i) => groups.set(String(k), [...(groups.get(String(k)) ?? []), values[i]!]));
  return Object.fromEntries([...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, xs]) => [k, mean(xs)]));
}

/**
 * `<who>_<probe>_Prob` for both subjects: the mean over the set of exp(-mean token NLL) of the
 * scored answer (QA sets: the answer given the question, EOS included, as *_Q_A_Prob; pair sets: the
 * completion given the prompt), with the mean per `groupBy` value of the rows in extra.
 */
export function defineProbeProb(o: { probe: string; setKind: SetKind; what: string; groupBy: string }): MetricDefinition[] {
  return PROBE_PEOPLE.map((who) => {
    const set = `${who}_${o.probe}`;
    const need = stats(set, [o.setKind]);
    return defineMetric({
      name: `${set}_Prob`,
      description: `mean over the ${set} set of exp(-mean token NLL) of ${o.what}`,
      needs: [need],
      ...probeRole(who),
      async compute(ctx) {
        const s = await ctx.get<QaStats>(need);
        const r = perItem(
          s.map((x) => ({ prob: normalizedProb(x.true), avg_loss: avgLoss(x.true) })),
          'prob',
        );
        if (r.aggValue === null) return r;
        const probs = s.map((x) => normalizedProb(x.true));
        const items = ctx.set(set).items;
        return {
          ...r,
          extra: {
            [`by_${o.groupBy}`]: meanBy(
              items.map((it) => it[o.groupBy]),
              probs,
            ),
          },
        };
      },
    });
  });
}
