// Multiple-choice metrics: mc_<task>_acc (argmax of the choices' log-likelihoods is the gold one) and
// mc_<task>_acc_norm (argmax of log-likelihood / len(choice) in characters, as lm-evaluation-harness's
// process_results), with per item the chosen and gold index and every choice's log-likelihood. The
// built-in tasks are registered on import; file tasks when loaded (loadMcTasks).
// mc_utility: harmonic mean of the built-in tasks' acc, a model_utility-style aggregate.
import { defineMetric, listMetrics, type MetricResult, type ValueByIndex } from '../metrics/registry.js';
import { harmonicOfAll } from '../metrics/common.js';
import type { McItem } from './formats.js';
import { decide, type ChoiceScores } from './score.js';
import { BUILTIN_TASKS } from './builtin.js';

/** Bumped when scoring changes (part of the result cache key). */
export const MC_VERSION = 1;

function mcResult(items: McItem[], scores: ChoiceScores[], norm: boolean): MetricResult {
  const valueByIndex: ValueByIndex = {};
  let hits = 0;
  items.forEach((it, k) => {
    const s = scores[k]!;
    const d = decide(s.loglikelihoods, it.choices);
    const chosen = norm ? d.predNorm : d.pred;
    const correct = chosen === it.gold ? 1 : 0;
    hits += correct;
    valueByIndex[String(k)] = {
      score: correct,
      chosen,
      gold: it.gold,
      loglikelihoods: s.loglikelihoods,
      ...(norm ? { normalized: d.normalized, lengths: it.choices.map((c) => [...c].length) } : { greedy: s.greedy, tokens: s.tokens }),
      line: it.line,
      ...(s.truncated.some((t) => t > 0) ? { truncated: s.truncated } : {}),
    };
  });
  return {
    aggValue: items.length ? hits / items.length : null,
    ...(items.length ? {} : { reason: 'the task has no items' }),
    valueByIndex,
    extra: { items: items.length, chance: items.length ? items.reduce((a, it) => a + 1 / it.choices.length, 0) / items.length : null },
  };
}

/** Registers mc_<task>_acc and mc_<task>_acc_norm (once per task name). */
export function defineMcMetrics(task: string): void {
  const set = `mc_${task}`;
  const known = new Set(listMetrics().map((m) => m.name));
  for (const norm of [false, true]) {
    const name = `${set}_${norm ? 'acc_norm' : 'acc'}`;
    if (known.has(name)) continue;
    defineMetric({
      name,
      description: norm
        ? `${task}: multiple-choice accuracy by log-likelihood per character of the choice (lm-evaluation-harness acc_norm)`
        : `${task}: multiple-choice accuracy by log-likelihood of the choice (lm-evaluation-harness acc)`,
      needs: [{ kind: 'mc', set, setKind: ['mc'] }],
      group: 'utility',
      higherIsBetter: true,
      params: { mc_version: MC_VERSION },
      async compute(ctx) {
        const scores = await ctx.get<ChoiceScores[]>({ kind: 'mc', set, setKind: ['mc'] });
        return mcResult(ctx.set(set).items as unknown as McItem[], scores, norm);
      },
    });
  }
}

for (const t of BUILTIN_TASKS) defineMcMetrics(t);

const UTILITY_PARTS = BUILTIN_TASKS.map((t) => `mc_${t}_acc`);

defineMetric({
  name: 'mc_utility',
  description: `harmonic mean of the built-in multiple-choice accuracies (${BUILTIN_TASKS.join(', ')})`,
  needs: UTILITY_PARTS.map((name) => ({ kind: 'metric' as const, name })),
  group: 'utility',
  higherIsBetter: true,
  compute: (ctx) => harmonicOfAll(ctx, UTILITY_PARTS),
});
