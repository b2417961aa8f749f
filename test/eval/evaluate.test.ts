// evaluate() end to end on a fixture model and small JSONL files: the registry's refusals, known answers
// (a model against itself as retain model: forget_quality 1, privleak 0), the EVAL.json / SUMMARY.json
// shape, the result cache, and errors that name the input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { evaluate, loadModel, loadTokenizer, defineMetric, getMetric, type EvalEntry } from '../../src/index.js';
import { fixturesDir } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('lethe-eval-');
const modelDir = join(fixturesDir, 'llama-tiny');
const words = ['red', 'blue', 'green', 'river', 'stone', 'paper', 'north', 'seven', 'apple', 'cloud'];
const pick = (k: number, n: number) => Array.from({ length: n }, (_, i) => words[(k * 7 + i * 3) % words.length]).join(' ');
const qa = (k: number) => ({
  question: `What is ${pick(k, 2)}?`,
  answer: `It is ${pick(k + 1, 3)}.`,
  paraphrased_answer: `${pick(k + 2, 3)} it is.`,
  perturbed_answer: [`It is ${pick(k + 3, 3)}.`, `It is ${pick(k + 4, 2)}.`],
});
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const files = { forget: join(tmp, 'forget.jsonl'), retain: join(tmp, 'retain.jsonl'), holdout: join(tmp, 'holdout.jsonl') };
writeFileSync(files.forget, jsonl([0, 1, 2, 3, 4, 5].map(qa)));
writeFileSync(files.retain, jsonl([10, 11, 12, 13].map(qa)));
writeFileSync(files.holdout, jsonl([20, 21, 22, 23, 24].map(qa)));
// The fixture folder has no tokenizer.json: the shared fixture tokenizer is passed explicitly.
const tokenizer = loadTokenizer(join(fixturesDir, 'tokenizer'));
const quiet = () => {};

test('the registry refuses unknown names (listing the known ones) and duplicate registrations', () => {
  assert.throws(() => getMetric('forget_Q_A_Probability'), /not registered \(known: .*forget_Q_A_Prob,/);
  assert.throws(() => defineMetric({ ...getMetric('mia_loss') }), /already registered/);
  assert.throws(() => defineMetric({ ...getMetric('mia_loss'), name: 'bad name' }), /letters, digits/);
});

test('a model against itself as retain model: forget_quality 1, privleak 0; EVAL.json and SUMMARY.json written', async () => {
  const model = loadModel(modelDir);
  const out = join(tmp, 'self');
  try {
    const r = await evaluate({
      model,
      tokenizer,
      files,
      retainModelDir: modelDir,
      outDir: out,
      cacheDir: join(tmp, 'cache'),
      log: quiet,
      metrics: [
        'forget_Q_A_Prob',
        'forget_truth_ratio',
        'forget_quality',
        'mia_min_k',
        'privleak',
        'mia_reference',
        'forget_Q_A_ROUGE',
        'retain_Q_A_Prob',
        'model_utility',
        'extraction_strength',
        'exact_memorization',
        'forget_gen_ref_NLL',
      ],
    });
    assert.equal(r.summary.forget_quality, 1);
    assert.ok(Math.abs(r.summary.privleak!) < 1e-6, `privleak ${r.summary.privleak}`);
    assert.ok(r.summary.forget_Q_A_Prob! > 0 && r.summary.forget_Q_A_Prob! < 1);
    const evalJson = JSON.parse(readFileSync(join(out, 'EVAL.json'), 'utf8')) as Record<string, EvalEntry>;
    const summary = JSON.parse(readFileSync(join(out, 'SUMMARY.json'), 'utf8')) as Record<string, number | null>;
    assert.deepEqual(
      Object.keys(summary).sort(),
      Object.keys(evalJson)
        .filter((k) => k !== '_meta')
        .sort(),
    );
    const p = evalJson.forget_Q_A_Prob!;
    assert.deepEqual(Object.keys(p.value_by_index!), ['0', '1', '2', '3', '4', '5']);
    assert.deepEqual(Object.keys(p.value_by_index!['0']!).sort(), ['avg_loss', 'prob']);
    const mia = evalJson.mia_min_k!;
    assert.equal(mia.agg_value, mia.auc);
    assert.ok((mia.roc as { fpr: number[] }).fpr.length >= 2 && (mia.forget as { value_by_index: object }).value_by_index);
    assert.equal(evalJson.mia_reference!.agg_value, 0.5, 'reference = the model itself: every score difference is 0, AUC 0.5');
    // Only the retain parts of model_utility have sets here: no harmonic mean of three of its nine parts.
    assert.equal(evalJson.model_utility!.agg_value, null);
    assert.deepEqual(Object.keys(evalJson.model_utility!.parts as object), ['retain_Q_A_Prob', 'retain_Q_A_ROUGE', 'retain_Truth_Ratio']);
    assert.ok((evalJson.model_utility!.missing as string[]).includes('wf_Truth_Ratio'), 'parts without a set are listed as missing');
    assert.match(
      evalJson.model_utility!.reason!,
      /^missing 6 of its 9 parts \(ra_Q_A_Prob_normalised, .*wf_Truth_Ratio: needs the item set/,
    );
    const meta = (evalJson as unknown as { _meta: { sets: Record<string, { items: number }>; metrics: Record<string, { group: string }> } })
      ._meta;
    assert.equal(meta.sets.forget!.items, 6);
    assert.equal(meta.metrics.privleak!.group, 'privacy');
  } finally {
    model.dispose();
  }
});

test('without a retain model, forget_quality and privleak are absent with a reason (no 0.5 default)', async () => {
  const r = await evaluate({ modelDir, tokenizer, files, metrics: ['privleak', 'forget_quality', 'mia_loss'], cacheDir: null, log: quiet });
  assert.equal(r.summary.privleak, null);
  assert.match(r.results.get('privleak')!.reason!, /retain model/);
  assert.equal(r.summary.forget_quality, null);
  assert.ok(typeof r.summary.mia_loss === 'number');
});

test('per-sample results are cached by content: the second run computes nothing, a changed item set recomputes', async () => {
  const cacheDir = join(tmp, 'cache2');
  const lines: string[] = [];
  const run = () =>
    evaluate({
      modelDir,
      tokenizer,
      files,
      metrics: ['forget_Q_A_Prob', 'mia_loss', 'forget_Q_A_ROUGE'],
      cacheDir,
      log: (l) => lines.push(l),
    });
  const first = await run();
  assert.ok(lines.some((l) => l.includes('token statistics of forget')));
  lines.length = 0;
  const second = await run();
  assert.deepEqual(second.summary, first.summary);
  assert.ok(!lines.some((l) => l.includes('token statistics') || l.includes('greedy')), `recomputed: ${lines.join(' | ')}`);
  assert.ok(readdirSync(cacheDir).length === 1, 'one folder per model');
  writeFileSync(files.holdout, jsonl([20, 21, 22, 23, 25].map(qa)));
  lines.length = 0;
  await run();
  assert.ok(
    lines.some((l) => l.includes('token statistics of holdout')),
    'holdout changed: mia_loss recomputed',
  );
  assert.ok(!lines.some((l) => l.includes('greedy')), 'forget unchanged: ROUGE from the cache');
});

test('default metric list: all that apply to the sets; wrapped-prompt and quantized variants; errors name the input', async () => {
  const r = await evaluate({
    modelDir,
    tokenizer,
    files,
    cacheDir: null,
    log: quiet,
    quantize: ['int8'],
    metrics: ['forget_Q_A_Prob', 'forget_truth_ratio', 'mia_loss'],
  });
  assert.ok(typeof r.summary.int8_forget_Q_A_Prob === 'number' && typeof r.summary.int8_mia_loss === 'number');
  assert.ok(
    Math.abs(r.summary.int8_forget_Q_A_Prob! - r.summary.forget_Q_A_Prob!) < 0.05 * r.summary.forget_Q_A_Prob!,
    'int8 changes little',
  );
  const all = await evaluate({
    modelDir,
    tokenizer,
    files,
    cacheDir: null,
    log: quiet,
    metrics: undefined,
    suiteOptions: {},
    quantize: [],
  }).catch((e: Error) => e);
  assert.ok(!(all instanceof Error), String(all));
  const keys = Object.keys((all as { summary: object }).summary);
  assert.ok(
    keys.includes('mia_gradnorm') && keys.includes('privleak') && !keys.includes('forget_verbmem_ROUGE') && !keys.includes('wf_Q_A_Prob'),
    keys.join(','),
  );
  const bad = join(tmp, 'bad.jsonl');
  writeFileSync(bad, '{"question": "q?"}\n');
  await assert.rejects(
    evaluate({ modelDir, tokenizer, files: { forget: bad }, cacheDir: null, log: quiet }),
    /--forget: .*bad\.jsonl rows must be \{"question","answer"\}/,
  );
  // A bad row after blank lines is named by its line in the file, not its index among the rows.
  const gappy = join(tmp, 'gappy.jsonl');
  writeFileSync(gappy, '\n{"question": "q?", "answer": "a."}\n\n\n{"question": "q2?", "answer": 5}\n');
  await assert.rejects(
    evaluate({ modelDir, tokenizer, files: { forget: gappy }, cacheDir: null, log: quiet }),
    /gappy\.jsonl:5: field 'answer': expected a string \(like line 2\), got a number$/,
  );
  await assert.rejects(
    evaluate({ modelDir, tokenizer, files: { forget: join(tmp, 'none.jsonl') }, cacheDir: null, log: quiet }),
    /--forget: .*none\.jsonl does not exist/,
  );
  await assert.rejects(
    evaluate({ modelDir, tokenizer, files, metrics: ['nope'], cacheDir: null, log: quiet }),
    /metric 'nope' is not registered/,
  );
  await assert.rejects(evaluate({ modelDir, tokenizer, suite: 'persona', cacheDir: null, log: quiet }), /needs --data DIR/);
});

test('the relearning hook gets a copy and its model is evaluated under relearn_', async () => {
  let called = 0;
  const r = await evaluate({
    modelDir,
    tokenizer,
    files,
    cacheDir: null,
    log: quiet,
    metrics: ['forget_Q_A_Prob'],
    relearn: async (m) => {
      called++;
      return m; // a real hook fine-tunes m on forget data; the identity must reproduce the numbers
    },
  });
  assert.equal(called, 1);
  assert.ok(Math.abs(r.summary.relearn_forget_Q_A_Prob! - r.summary.forget_Q_A_Prob!) < 1e-6);
});

// Last: the metric it registers would otherwise join the default metric list of the tests above.
test('a metric that reads a need it did not declare is refused', async () => {
  defineMetric({
    name: 'test_undeclared_need',
    description: 'test only',
    needs: [],
    group: 'forget',
    higherIsBetter: null,
    async compute(ctx) {
      await ctx.get({ kind: 'stats', set: 'forget' });
      return { aggValue: 0 };
    },
  });
  await assert.rejects(
    evaluate({ modelDir, tokenizer, files, metrics: ['test_undeclared_need'], cacheDir: null, log: quiet }),
    /asked for 'stats:forget', which it does not declare/,
  );
});
