// Metrics on partial data: a metric whose inputs are missing is null with a reason that says what is
// missing, never 0 or a number computed from part of its inputs. Each metric runs on hand-made item
// sets and precomputed needs (no model), so the expected values are known exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  getMetric,
  needKey,
  type EvalItemSet,
  type ItemStats,
  type MetricContext,
  type MetricResult,
  type Need,
  type SetKind,
} from '../../src/eval/metrics/index.js';
import { MODEL_UTILITY_PARTS } from '../../src/eval/metrics/model-utility.js';
import { BUILTIN_TASKS } from '../../src/eval/mc/builtin.js';
import { extractionStrength, type SeqStat } from '../../src/eval/scores.js';
import { toEntry } from '../../src/eval/eval-file.js';

/** A metric context over these item sets and these need values (keyed by needKey); an undeclared or
 *  unknown need throws, so a metric that bails out early never needs one. */
function ctxOf(sets: Record<string, { kind: SetKind; items: Record<string, unknown>[] }>, values: Record<string, unknown>): MetricContext {
  return {
    async get<T>(n: Need): Promise<T> {
      const k = needKey(n);
      if (!(k in values)) throw new Error(`test context has no '${k}'`);
      return values[k] as T;
    },
    set(name: string): EvalItemSet {
      const s = sets[name];
      if (!s) throw new Error(`test context has no set '${name}'`);
      return { name, kind: s.kind, description: name, items: s.items };
    },
  };
}

const run = (name: string, ctx: MetricContext): Promise<MetricResult> => getMetric(name).compute(ctx);

/** A sequence whose every token has log-probability lp (hits: argmax right), EOS last. */
const seq = (n: number, lp = -1, hit = true): SeqStat => ({ logProbs: Array(n).fill(lp), hits: Array(n).fill(hit), eos: true });

const qaRow = (k: number, para: boolean, pert: boolean) => ({
  question: `Where does person ${k} live?`,
  answer: `Person ${k} lives in town ${k}.`,
  ...(para ? { paraphrased_answer: `Town ${k} is where person ${k} lives.` } : {}),
  ...(pert ? { perturbed_answer: [`Person ${k} lives in city ${k + 1}.`, `Person ${k} lives abroad.`] } : {}),
});
const statsOf = (rows: ReturnType<typeof qaRow>[]): ItemStats[] =>
  rows.map((r) => ({
    true: seq(4, -0.5),
    ...(r.paraphrased_answer ? { para: seq(5, -1) } : {}),
    ...(r.perturbed_answer ? { pert: r.perturbed_answer.map(() => seq(4, -2)) } : {}),
    text: r.answer,
  }));
const gensOf = (rows: ReturnType<typeof qaRow>[]) => rows.map((r) => r.paraphrased_answer ?? r.answer);

function qaCtx(rows: ReturnType<typeof qaRow>[], set = 'forget') {
  return ctxOf({ [set]: { kind: 'qa', items: rows } }, { [`stats:${set}`]: statsOf(rows), [`generations:${set}`]: gensOf(rows) });
}

test('forget_Q_A_PARA_ROUGE: null with the count of rows without a paraphrase, not 0 against an empty reference', async () => {
  const none = await run('forget_Q_A_PARA_ROUGE', qaCtx([0, 1, 2].map((k) => qaRow(k, false, true))));
  assert.equal(none.aggValue, null);
  assert.equal(none.reason, "no row of the forget set has 'paraphrased_answer'");

  const some = await run('forget_Q_A_PARA_ROUGE', qaCtx([0, 1, 2, 3].map((k) => qaRow(k, k % 2 === 0, true))));
  assert.equal(some.aggValue, null, 'not a mean over the two rows that have one');
  assert.match(some.reason!, /^'paraphrased_answer' is missing in 2 of 4 rows of the forget set \(items 1, 3\)/);

  // A paraphrase without words is no reference either (ROUGE's recall against it would be 0).
  const blank = [0, 1].map((k) => ({ ...qaRow(k, true, true), paraphrased_answer: k === 1 ? ' ... ' : `Town ${k}.` }));
  const b = await run('forget_Q_A_PARA_ROUGE', qaCtx(blank));
  assert.equal(b.aggValue, null);
  assert.match(b.reason!, /^'paraphrased_answer' is missing in 1 of 2 rows/);

  // Every row has one: the generations are the paraphrases themselves, so the recall is 1.
  const all = await run('forget_Q_A_PARA_ROUGE', qaCtx([0, 1, 2].map((k) => qaRow(k, true, true))));
  assert.equal(all.aggValue, 1);
  assert.equal(all.reason, undefined);
});

test('forget_Q_A_ROUGE: an empty true answer is no reference (null with the count), not a recall of 0', async () => {
  const rows = [0, 1, 2].map((k) => ({ ...qaRow(k, true, true), answer: k === 2 ? '' : `Person ${k}.` }));
  const r = await run('forget_Q_A_ROUGE', qaCtx(rows));
  assert.equal(r.aggValue, null);
  assert.match(r.reason!, /^'answer' is missing in 1 of 3 rows of the forget set \(items 2\)/);
});

test('paraphrase and perturbation probabilities: null naming the field and the rows without it', async () => {
  const ctx = qaCtx([0, 1, 2, 3, 4].map((k) => qaRow(k, k !== 4, k < 2)));
  const para = await run('forget_Q_A_PARA_Prob', ctx);
  assert.equal(para.aggValue, null);
  assert.match(para.reason!, /^'paraphrased_answer' is missing in 1 of 5 rows of the forget set \(items 4\)/);
  const pert = await run('forget_Q_A_PERT_Prob', ctx);
  assert.equal(pert.aggValue, null);
  assert.match(pert.reason!, /^'perturbed_answer' is missing in 3 of 5 rows of the forget set \(items 2, 3, 4\)/);
  const norm = await run(
    'wf_Q_A_Prob_normalised',
    qaCtx(
      [0, 1].map((k) => qaRow(k, true, false)),
      'wf',
    ),
  );
  assert.equal(norm.aggValue, null);
  assert.equal(norm.reason, "no row of the wf set has 'perturbed_answer'");
});

test('truth ratios: null naming each missing field and the rows without it', async () => {
  const tr = await run('forget_truth_ratio', qaCtx([0, 1, 2, 3, 4].map((k) => qaRow(k, k !== 4, k < 2))));
  assert.equal(tr.aggValue, null);
  assert.equal(
    tr.reason,
    "'perturbed_answer' is missing in 3 of 5 rows of the forget set (items 2, 3, 4); not computed on the rest alone; " +
      "'paraphrased_answer' is missing in 1 of 5 rows of the forget set (items 4); not computed on the rest alone",
  );
  const wfTr = await run(
    'wf_Truth_Ratio',
    qaCtx(
      [0, 1].map((k) => qaRow(k, true, false)),
      'wf',
    ),
  );
  assert.equal(wfTr.aggValue, null, 'wf scores the true answer, but the perturbed ones are still needed');
  assert.equal(wfTr.reason, "no row of the wf set has 'perturbed_answer'");

  // Complete rows: a value (truth ratio per item exp(-2)/exp(-1), aggregated closer_to_1_better).
  const full = await run('forget_truth_ratio', qaCtx([0, 1].map((k) => qaRow(k, true, true))));
  assert.ok(Math.abs(full.aggValue! - Math.exp(-1)) < 1e-9, String(full.aggValue));
});

test('forget_verbmem_ROUGE: a passage without a continuation is no reference (null with the count)', async () => {
  const items = [
    { prompt: 'Once upon', reference: 'a time there was' },
    { prompt: 'It was', reference: '' },
  ];
  const v = await run(
    'forget_verbmem_ROUGE',
    ctxOf({ verbmem_forget: { kind: 'probe', items } }, { 'generations:verbmem_forget': ['a time', 'the best'] }),
  );
  assert.equal(v.aggValue, null, 'was the mean of 2/4 and 0 against the empty continuation');
  assert.match(v.reason!, /^'reference' is missing in 1 of 2 rows of the verbmem_forget set \(items 1\)/);
});

/** A context whose metric needs ('metric:NAME', 'retain:NAME', 'target:NAME') give these aggregates
 *  (null: not computed, with the reason why(NAME), by default "reason of NAME"). */
function resultsCtx(values: Record<string, number | null>, why = (name: string) => `reason of ${name}`) {
  const v: Record<string, unknown> = {};
  for (const [key, x] of Object.entries(values))
    v[key] = { aggValue: x, ...(x === null ? { reason: why(key.split(':')[1]!) } : {}) } satisfies MetricResult;
  return ctxOf({}, v);
}
/** The same keys under 'metric:' (this model's own metrics). */
const own = (o: Record<string, number | null>) => Object.fromEntries(Object.entries(o).map(([k, x]) => [`metric:${k}`, x]));

test('model_utility: null listing the missing parts and their reasons, not the harmonic mean of the parts there are', async () => {
  // Two of the nine parts (as the issue saw), the other seven never computed.
  const noSet = "needs the item set 'wf', which this suite does not have";
  const two = await run(
    'model_utility',
    resultsCtx(own(Object.fromEntries(MODEL_UTILITY_PARTS.map((p, k) => [p, [0.5, 0.25][k] ?? null]))), () => noSet),
  );
  assert.equal(two.aggValue, null, 'hmean(0.5, 0.25) = 1/3 would pose as the nine-part number');
  assert.equal(two.reason, `missing 7 of its 9 parts (${MODEL_UTILITY_PARTS.slice(2).join(', ')}: ${noSet})`);
  assert.deepEqual(two.extra!.missing, MODEL_UTILITY_PARTS.slice(2));
  assert.deepEqual(two.extra!.parts, { retain_Q_A_Prob: 0.5, retain_Q_A_ROUGE: 0.25 });

  // A part that fails is missing with its error, not left out of the mean.
  const failed = await run('model_utility', resultsCtx(own(Object.fromEntries(MODEL_UTILITY_PARTS.slice(1).map((p) => [p, 0.5])))));
  assert.equal(failed.aggValue, null);
  assert.equal(failed.reason, "missing 1 of its 9 parts (retain_Q_A_Prob: failed: test context has no 'metric:retain_Q_A_Prob')");

  const values: Record<string, number | null> = Object.fromEntries(MODEL_UTILITY_PARTS.map((p) => [p, 0.5]));
  values.ra_Truth_Ratio = null;
  values.wf_Q_A_ROUGE = null;
  const seven = await run('model_utility', resultsCtx(own(values)));
  assert.equal(seven.aggValue, null);
  assert.equal(seven.reason, 'missing 2 of its 9 parts (ra_Truth_Ratio: reason of ra_Truth_Ratio; wf_Q_A_ROUGE: reason of wf_Q_A_ROUGE)');

  // All nine: their harmonic mean (one part at 0 makes it 0, as scipy's hmean: a measured 0).
  const nine = Object.fromEntries(MODEL_UTILITY_PARTS.map((p, k) => [p, k < 3 ? 0.25 : 0.5]));
  assert.equal((await run('model_utility', resultsCtx(own(nine)))).aggValue, 9 / (3 * 4 + 6 * 2));
  assert.equal((await run('model_utility', resultsCtx(own({ ...nine, wf_Truth_Ratio: 0 })))).aggValue, 0);
});

test('mc_utility: null listing every missing task, not only the first', async () => {
  const [a, b, c] = BUILTIN_TASKS.map((t) => `mc_${t}_acc`);
  const r = await run('mc_utility', resultsCtx(own({ [a!]: 0.5, [b!]: null, [c!]: null })));
  assert.equal(r.aggValue, null);
  assert.equal(r.reason, `missing 2 of its 3 parts (${b}: reason of ${b}; ${c}: reason of ${c})`);
});

test('multiple-choice accuracy on an empty task: null with a reason', async () => {
  const set = `mc_${BUILTIN_TASKS[0]}`;
  const r = await run(`${set}_acc`, ctxOf({ [set]: { kind: 'mc', items: [] } }, { [`mc:${set}`]: [] }));
  assert.equal(r.aggValue, null);
  assert.equal(r.reason, 'the task has no items');
});

test("model_utility_rel_target: null when the target's utility is 0 or absent, or this model's is absent", async () => {
  const rel = (mine: number | null, target: number | null) =>
    run('model_utility_rel_target', resultsCtx({ 'metric:model_utility': mine, 'target:model_utility': target }));
  const zero = await rel(0.4, 0);
  assert.equal(zero.aggValue, null, 'not (0.4 - 0) / 1e-10');
  assert.equal(zero.reason, "the target model's model_utility is 0, so a change relative to it is undefined");
  assert.equal(zero.extra!.target, 0, 'the target value is kept for the reports');
  const noTarget = await rel(0.4, null);
  assert.equal(noTarget.aggValue, null);
  assert.equal(noTarget.reason, 'model_utility of the target model has no value (reason of model_utility)');
  const noOwn = await rel(null, 0.5);
  assert.equal(noOwn.aggValue, null);
  assert.equal(noOwn.reason, 'model_utility of this model has no value (reason of model_utility)');
  assert.ok(Math.abs((await rel(0.4, 0.5)).aggValue! - -20) < 1e-9);
});

test("privleak: null when the retain model's Min-K% AUC is 1 (1 - AUC = 0), not billions of percent", async () => {
  const leak = (mine: number, retain: number) => run('privleak', resultsCtx({ 'metric:mia_min_k': mine, 'retain:mia_min_k': retain }));
  const r = await leak(0.7, 1);
  assert.equal(r.aggValue, null);
  assert.match(r.reason!, /retain model's mia_min_k AUC is 1/);
  assert.ok(Math.abs((await leak(0.6, 0.5)).aggValue! - -20) < 1e-6);
});

test('gcide_NLL: no scored token in any row is null with a reason, not 0/0', async () => {
  const gcide = ctxOf(
    { gcide: { kind: 'text', items: [{ text: '' }, { text: '' }] } },
    { 'stats:gcide': [0, 1].map(() => ({ true: seq(0), text: '' })) },
  );
  const g = await run('gcide_NLL', gcide);
  assert.equal(g.aggValue, null, 'was 0/0 = NaN, written as an unexplained null');
  assert.equal(g.reason, 'no gcide row has a scored token (2 rows)');
});

const shortGens = () =>
  ctxOf(
    { forget: { kind: 'qa', items: [0, 1].map((k) => qaRow(k, true, true)) } },
    { 'generations:forget': ['', 'Paris.'], 'referenceNll:forget': [null, NaN] },
  );

test('forget_gen_repetition: generations too short for a 3-gram give no rate (null), not 0', async () => {
  const rep = await run('forget_gen_repetition', shortGens());
  assert.equal(rep.aggValue, null, 'was 0: empty answers passed as perfectly fluent');
  assert.equal(rep.reason, 'no generation on forget has 3 words (2 generations)');
  const ok = ctxOf(
    { forget: { kind: 'qa', items: [0, 1].map((k) => qaRow(k, true, true)) } },
    { 'generations:forget': ['a b c a b c', 'x'] },
  );
  assert.equal((await run('forget_gen_repetition', ok)).aggValue, 1 / 4, 'a short answer adds no 3-gram to a rate that has some');
});

test('forget_gen_ref_NLL: no finite NLL under the reference model is null with a reason', async () => {
  const nll = await run('forget_gen_ref_NLL', shortGens());
  assert.equal(nll.aggValue, null);
  assert.equal(nll.reason, 'no generation on forget has a finite NLL under the reference model');
});

test('extraction strength: an answer without tokens is null (as exact memorization), not 0; the mean leaves it out', async () => {
  assert.equal(extractionStrength(seq(0)), null);
  assert.equal(extractionStrength({ logProbs: [-1], hits: [true], eos: true }), null, 'only the appended EOS');
  const ctx = (stats: ItemStats[]) =>
    ctxOf({ forget: { kind: 'qa', items: stats.map((_, k) => qaRow(k, true, true)) } }, { 'stats:forget': stats });
  const full = { true: seq(4, -1, true), text: 'x' };
  const empty = { true: seq(0), text: '' };
  assert.equal((await run('extraction_strength', ctx([full, empty]))).aggValue, 1, 'not (1 + 0) / 2');
  const none = await run('extraction_strength', ctx([empty, empty]));
  assert.equal(none.aggValue, null);
  assert.equal(none.reason, 'no item has a finite score (items: 2)');
});

test('forget_familiarity_prob: a term with no scored token has no probability (null), not exp(-Infinity) = 0', async () => {
  const fam = ctxOf(
    { familiarity_anchored: { kind: 'pair', items: [{ prompt: 'a', completion: ' b', term: 'b' }] } },
    { 'stats:familiarity_anchored': [{ true: { logProbs: [], hits: [], eos: false }, text: ' b' }] },
  );
  const f = await run('forget_familiarity_prob', fam);
  assert.equal(f.aggValue, null, 'was exp(-Infinity) = 0');
  assert.equal(f.reason, 'no item has a finite prob (items: 1)');
});

test('secret leak rates on an empty attack set: null, not a leak rate of 0', async () => {
  const ctx = ctxOf({ secret_attacks: { kind: 'qa', items: [] } }, { 'generations:secret_attacks': [] });
  for (const name of ['secret_leak_rate', 'secret_leak_rate_sampled']) {
    const r = await run(name, ctx);
    assert.equal(r.aggValue, null, name);
    assert.equal(r.reason, 'the secret_attacks set has no items', name);
  }
});

test('bias_association with one profession per phrasing: null (its association would be 0 by construction)', async () => {
  const items = (['female', 'male'] as const).map((gender) => ({
    prompt: 'The nurse said that',
    completion: ' x',
    profession: 'nurse',
    direction: 'she',
    template: 0,
    gender,
  }));
  const stats = [
    { true: seq(1, -1), text: '' },
    { true: seq(1, -3), text: '' },
  ];
  const r = await run('bias_association_trained', ctxOf({ bias_trained: { kind: 'pair', items } }, { 'stats:bias_trained': stats }));
  assert.equal(r.aggValue, null);
  assert.match(r.reason!, /^phrasing 0 of the bias_trained set has fewer than two professions/);
});

test('EVAL.json entries: a null aggregate always has a reason (NaN says it was NaN)', () => {
  assert.deepEqual(toEntry({ aggValue: NaN }), { agg_value: null, reason: 'the computed value was NaN' });
  assert.deepEqual(toEntry({ aggValue: null }), { agg_value: null, reason: 'no value (the metric gave no reason)' });
  assert.deepEqual(toEntry({ aggValue: null, reason: 'why' }), { agg_value: null, reason: 'why' });
  assert.deepEqual(toEntry({ aggValue: 0 }), { agg_value: 0 });
});
