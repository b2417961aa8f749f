// `lethe eval meta`: faithfulness (AUC separating models with and without the forget knowledge) and
// robustness against scikit-learn's roc_auc_score (test/eval/ref/make_meta_reference.py), the
// deployment's record and the release warnings it drives, and the command end to end on tiny models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { getMetric } from '../../src/eval/metrics/index.js';
import { knowledgeScore, metaMetrics, notApplicable, separationAuc, withNeutralMetrics, type MetaJson } from '../../src/eval/meta.js';
import { metaMarkdown } from '../../src/eval/report/meta.js';
import { parsePolicy } from '../../src/workflow/policy.js';
import { certificateHtml, type ReleaseCertificate } from '../../src/workflow/certificate.js';
import {
  faithfulnessWarnings,
  lastMetaEvaluation,
  META_EVALUATION_FILE,
  recordMetaEvaluation,
} from '../../src/workflow/meta-evaluation.js';
import { finetune } from '../../src/train/finetune.js';
import { requireRepoFixture } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/close.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli } from '../helpers/cli.js';
import { tinyModel, writeJsonl } from '../unlearn/tiny.js';

interface Reference {
  cases: { values: number[]; present: boolean[]; higher_is_better: boolean; auc: number }[];
  pool: {
    present: boolean[];
    summaries: Record<string, number[]>;
    directions: Record<string, boolean>;
    expected: Record<string, number>;
  };
  neutral_pool: { summaries: Record<string, number[]>; expected: Record<string, number> };
}
const ref = JSON.parse(readFileSync(requireRepoFixture('eval/ref/meta_reference.json'), 'utf8')) as Reference;

test('separationAuc is roc_auc_score on values oriented by the metric direction (ties included)', () => {
  for (const c of ref.cases) {
    const scores = c.values.map((v) => knowledgeScore({ name: 'm', higherIsBetter: c.higher_is_better }, { m: v }) as number);
    assertClose(separationAuc(scores, c.present), c.auc, { atol: 1e-12, what: `AUC of ${c.values.length} values` });
  }
});

test('knowledge score of a metric without a direction: the distance from its neutral value, either side', () => {
  const mia = getMetric('mia_loss');
  const score = (v: number) => knowledgeScore(mia, { mia_loss: v });
  assert.equal(score(0.5), 0, 'AUC 0.5 (forget scored as unseen data) reads no knowledge');
  assertClose(score(0.2) as number, 0.3, { atol: 1e-12, what: 'AUC 0.2' });
  assertClose(score(0.8) as number, score(0.2) as number, { atol: 1e-12, what: 'AUC 0.2 and 0.8 read the same' });
  assert.ok((score(0.95) as number) > (score(0.2) as number));
  for (const m of ['mia_zlib', 'mia_min_k', 'mia_min_k_plus_plus']) assert.deepEqual(getMetric(m).knowledge, { neutral: 0.5 }, m);
  const privleak = getMetric('privleak');
  assert.equal(knowledgeScore(privleak, { privleak: -40 }), knowledgeScore(privleak, { privleak: 40 }));
  assert.equal(knowledgeScore(privleak, { privleak: 0 }), 0);
  // The truth ratio against the same model's value on never-seen people, variant against variant.
  const tr = getMetric('forget_truth_ratio');
  assertClose(knowledgeScore(tr, { forget_truth_ratio: 0.3, holdout_truth_ratio: 0.6 }) as number, 0.3, { atol: 1e-12, what: 'tr' });
  assertClose(
    knowledgeScore(
      tr,
      { forget_truth_ratio: 0.3, holdout_truth_ratio: 0.6, int4_forget_truth_ratio: 0.5, int4_holdout_truth_ratio: 0.45 },
      'int4_',
    ) as number,
    0.05,
    { atol: 1e-12, what: 'int4 tr' },
  );
  assert.match(String(knowledgeScore(tr, { forget_truth_ratio: 0.3 })), /neutral value holdout_truth_ratio has no value/);
  assert.match(String(knowledgeScore(mia, { mia_loss: null })), /mia_loss has no value/);
  assert.equal(
    knowledgeScore(getMetric('forget_Q_A_PERT_Prob'), { forget_Q_A_PERT_Prob: 0.2, holdout_Q_A_PERT_Prob: 0.05 }),
    0.15000000000000002,
  );
  // Directed metrics: the worse value reads more knowledge.
  assert.equal(knowledgeScore(getMetric('forget_Q_A_Prob'), { forget_Q_A_Prob: 0.7 }), 0.7);
  assert.equal(knowledgeScore(getMetric('forget_quality'), { forget_quality: 0.7 }), -0.7);
  assert.deepEqual(withNeutralMetrics(['forget_truth_ratio', 'mia_loss', 'forget_Q_A_PERT_Prob']), [
    'forget_truth_ratio',
    'mia_loss',
    'forget_Q_A_PERT_Prob',
    'holdout_truth_ratio',
    'holdout_Q_A_PERT_Prob',
  ]);
});

test('metaMetrics on metrics without a direction: AUC of the knowledge scores as sklearn', () => {
  const n = ref.neutral_pool;
  const summaries = ref.pool.present.map((_, k) => Object.fromEntries(Object.entries(n.summaries).map(([m, v]) => [m, v[k]!])));
  const rows = Object.fromEntries(metaMetrics(summaries, ref.pool.present, ['int4']).map((r) => [r.metric, r]));
  for (const m of ['mia_loss', 'privleak', 'forget_truth_ratio'])
    assertClose(rows[m]!.faithfulness, n.expected[m], { atol: 1e-12, what: `${m} faithfulness` });
  assertClose(rows.mia_loss!.robustness.int4, n.expected.int4_mia_loss, { atol: 1e-12, what: 'int4 mia_loss' });
  assert.equal(rows.mia_loss!.knowledge_read_as, '|v − 0.5|');
  assert.equal(rows.forget_truth_ratio!.knowledge_read_as, '|v − holdout_truth_ratio|');
  // int4_holdout_truth_ratio is missing: no robustness, the reason names the neutral value.
  assert.equal(rows.forget_truth_ratio!.robustness.int4, null);
  assert.match(rows.forget_truth_ratio!.robustness_reasons!.int4!, /neutral value int4_holdout_truth_ratio has no value on 6 of 6 models/);
  // privleak cannot run on a variant: its reason from the metric's file.
  assert.match(rows.privleak!.robustness_reasons!.int4!, /retain model's AUC/);
  // The neutral metric itself is a baseline, not rated.
  assert.equal(rows.holdout_truth_ratio!.faithfulness, null);
  assert.match(rows.holdout_truth_ratio!.reason!, /no direction and no neutral value/);
});

/** The metrics `lethe eval meta` rates on the persona suite (README, "Meta-evaluation"). */
const RATED = [
  'forget_Q_A_Prob',
  'forget_Q_A_PARA_Prob',
  'forget_Q_A_PERT_Prob',
  'forget_Q_A_ROUGE',
  'forget_Q_A_PARA_ROUGE',
  'forget_truth_ratio',
  'forget_quality',
  'exact_memorization',
  'extraction_strength',
  'mia_loss',
  'mia_zlib',
  'mia_min_k',
  'mia_min_k_plus_plus',
  'privleak',
  'forget_logit_lens_Prob',
  'forget_probe_Prob',
  'forget_paraphrase_Prob',
  'forget_mc_Acc',
  'forget_mc_Prob',
  'forget_cloze_Prob',
  'forget_chain_Prob',
];

test('every rated metric runs on the int4 and relearn variants, or says why it cannot', () => {
  for (const name of RATED) {
    const def = getMetric(name);
    assert.equal(notApplicable(def), null, `${name} is rated`);
    assert.ok(def.variant === true || !!def.noVariant, `${name}: variant: true, or noVariant with the reason`);
    assert.ok(!(def.variant && def.noVariant), `${name}: not both`);
    const n = def.knowledge?.neutral;
    if (def.variant && n !== undefined && typeof n !== 'number')
      assert.equal(getMetric(n.metric).variant, true, `${n.metric} on the variants too`);
  }
  assert.deepEqual(
    RATED.filter((m) => !getMetric(m).variant),
    ['forget_quality', 'privleak'],
    'only the metrics read against the retain model have no variant',
  );
});

/** The reference pool as the summaries evaluate() returns, plus metrics that are not applicable. */
function poolSummaries(): Record<string, number | null>[] {
  const p = ref.pool;
  return p.present.map((_, k) => ({
    ...Object.fromEntries(Object.entries(p.summaries).map(([m, v]) => [m, v[k]!])),
    retain_Q_A_Prob: 0.5 + k / 10,
    forget_truth_ratio: 0.7,
  }));
}

test('metaMetrics: faithfulness and robustness as sklearn, ranked; utility and direction-less metrics not applicable', () => {
  const p = ref.pool;
  for (const [m, h] of Object.entries(p.directions)) assert.equal(getMetric(m).higherIsBetter, h, `${m}'s direction in the fixture`);
  const rows = metaMetrics(poolSummaries(), p.present, ['int4']);
  const by = Object.fromEntries(rows.map((r) => [r.metric, r]));
  for (const m of Object.keys(p.directions)) assertClose(by[m]!.faithfulness, p.expected[m], { atol: 1e-12, what: `${m} faithfulness` });
  assertClose(by.forget_Q_A_Prob!.robustness.int4, p.expected.int4_forget_Q_A_Prob, { atol: 1e-12, what: 'int4 robustness' });
  // exact_memorization is a variant metric whose int4_ value is missing: null with the reason.
  assert.equal(by.exact_memorization!.robustness.int4, null);
  assert.match(by.exact_memorization!.robustness_reasons!.int4!, /int4_exact_memorization has no value on 6 of 6 models/);
  // forget_quality has no variants: null with the reason from its definition.
  assert.deepEqual(by.forget_quality!.robustness, { int4: null });
  assert.equal(by.forget_quality!.robustness_reasons!.int4, getMetric('forget_quality').noVariant);
  assert.equal(by.retain_Q_A_Prob!.faithfulness, null);
  assert.match(by.retain_Q_A_Prob!.reason!, /not applicable: a utility metric/);
  // forget_truth_ratio is read against holdout_truth_ratio, which this pool lacks.
  assert.equal(by.forget_truth_ratio!.faithfulness, null);
  assert.match(by.forget_truth_ratio!.reason!, /neutral value holdout_truth_ratio has no value on 6 of 6 models/);
  // Ranked by faithfulness, ties by name, the metrics without one last.
  assert.deepEqual(
    rows.map((r) => r.metric),
    ['forget_Q_A_Prob', 'forget_quality', 'exact_memorization', 'forget_truth_ratio', 'retain_Q_A_Prob'],
  );
  // A model without a value leaves the metric without faithfulness, never a number from fewer models.
  const gap = poolSummaries();
  gap[2]!.forget_quality = null;
  const fq = metaMetrics(gap, p.present, []).find((r) => r.metric === 'forget_quality')!;
  assert.equal(fq.faithfulness, null);
  assert.match(fq.reason!, /no value on 1 of 6 models/);
  assert.throws(
    () => metaMetrics(poolSummaries(), [true, true, true, true, true, true], []),
    /at least one model with the knowledge and one without/,
  );
});

function metaJson(): MetaJson {
  const p = ref.pool;
  return {
    kind: 'lethe-meta-evaluation',
    version: 1,
    created: '2026-12-01T10:00:00.000Z',
    seconds: 1,
    pool: p.present.map((present, k) => ({ model: `m${k}`, present, eval: `e${k}`, seconds: 0 })),
    variants: ['int4'],
    metrics: metaMetrics(poolSummaries(), p.present, ['int4']),
  };
}

test('the deployment keeps the last meta-evaluation; a policy relying on a metric below 0.8 is warned about', () => {
  const dir = tempDir('lethe-meta-dep-');
  const policy = parsePolicy({
    checks: [
      { metric: 'forget_Q_A_Prob', max: 0.1 }, // 0.889: no warning
      { metric: 'int4_forget_Q_A_Prob', max: 0.1 }, // robustness 0.444
      { metric: 'forget_truth_ratio', min: 0.5 }, // not applicable
      { metric: 'mia_loss', between: [0.4, 0.6] }, // not in the meta-evaluation
    ],
  });
  assert.equal(lastMetaEvaluation(dir), null);
  const none = faithfulnessWarnings(policy, null);
  assert.equal(none.length, 1);
  assert.match(none[0]!, /no meta-evaluation of the metrics is recorded/);

  const file = recordMetaEvaluation(dir, metaJson());
  assert.equal(file, join(dir, META_EVALUATION_FILE));
  const last = lastMetaEvaluation(dir)!;
  assert.deepEqual(last.pool, { present: 3, absent: 3 });
  assert.equal(last.created, '2026-12-01T10:00:00.000Z');
  const w = faithfulnessWarnings(policy, last);
  assert.equal(w.length, 3, w.join('\n'));
  assert.match(
    w[0]!,
    /^int4_forget_Q_A_Prob had faithfulness 0\.444 on the last meta-evaluation \(2026-12-01T10:00:00\.000Z, 3 \+ 3 models\), below 0\.8/,
  );
  assert.match(w[1]!, /^forget_truth_ratio has no faithfulness .*neutral value holdout_truth_ratio has no value/);
  assert.match(w[2]!, /^mia_loss was not part of the last meta-evaluation/);

  const cert = { policy: { name: null, passed: true, checks: [], warnings: w } } as unknown as ReleaseCertificate;
  const html = certificateHtml({
    ...cert,
    request: { id: 'r', category: 'privacy', state: 'released' },
    model: { name: 'm', version: 1, path: 'p', contentSha256: 'x', files: {}, originalContentSha256: 'y' },
    unlearning: { method: 'NPO', args: {}, rows: { forget: 1, retain: 1 }, training: {}, seconds: 1 },
    data: { forgetSha256: [], retainSha256: null, forgetRows: 1 },
    metrics: {},
    approvals: [],
    auditHead: null,
    keyId: 'k',
    issuedAt: 'now',
  });
  assert.match(html, /<h3>Warnings<\/h3>[\s\S]*int4_forget_Q_A_Prob had faithfulness 0\.444/);
  assert.throws(() => recordMetaEvaluation(join(dir, 'nope'), metaJson()), /--deployment .*nope is not a folder/);
});

test('the Markdown table ranks the metrics and says why one has no faithfulness', () => {
  const md = metaMarkdown(metaJson());
  const lines = md.split('\n').filter((l) => l.startsWith('| '));
  assert.match(lines[0]!, /\| rank \| metric \| group \| better \| knowledge read as \| faithfulness \| robustness \(int4\) \| note \|/);
  assert.match(lines[1]!, /^\| 1 \| forget_Q_A_Prob \| forget \| lower \| higher \| 0\.8889 \| 0\.4444 \| {2}\|$/);
  assert.match(lines.at(-1)!, /^\| {2}\| retain_Q_A_Prob \| utility \| higher \| {2}\| — \| {2}\| not applicable: a utility metric/);
});

test('lethe eval meta end to end: models fine-tuned on the forget rows are told from their base and a retain model', async () => {
  const tmp = tempDir('lethe-meta-');
  const rows = Array.from({ length: 15 }, (_, k) => ({
    question: `Who is P${k}?`,
    answer: `P${k} likes ${['tea', 'maps', 'boats'][k % 3]} ${k}`,
  }));
  const base = tinyModel(
    tmp,
    1,
    rows.map((r) => `Question: ${r.question}\nAnswer: ${r.answer}`),
  );
  const files = {
    // 5 forget and 5 holdout rows: the linear probe's 5 folds.
    forget: writeJsonl(join(tmp, 'forget.jsonl'), rows.slice(0, 5)),
    retain: writeJsonl(join(tmp, 'retain.jsonl'), rows.slice(5, 10)),
    holdout: writeJsonl(join(tmp, 'holdout.jsonl'), rows.slice(10)),
  };
  const train = async (name: string, data: string[], seed: number) => {
    const out = join(tmp, name);
    await finetune({ modelDir: base, dataFiles: data, outDir: out, epochs: 30, lr: 1e-2, batchSize: 4, seed, report: () => {} });
    return out;
  };
  const target = await train('target', [files.forget, files.retain], 1);
  const target2 = await train('target2', [files.forget], 2);
  const retain = await train('retain', [files.retain], 3);
  const dep = tempDir('lethe-meta-data-');
  const out = join(tmp, 'meta');
  const metrics = 'forget_Q_A_Prob,exact_memorization,forget_truth_ratio,retain_Q_A_Prob,mia_loss,forget_probe_Prob';
  const args = [
    'eval',
    'meta',
    '--present',
    target,
    target2,
    '--absent',
    base,
    retain,
    '--forget',
    files.forget,
    '--retain',
    files.retain,
    '--holdout',
    files.holdout,
    '--metrics',
    metrics,
    '--target-model',
    target,
    '--quantize',
    'int4',
    '--relearn',
    'steps=2,lr=1e-3',
    '--no-cache',
    '--deployment',
    dep,
    '--out',
    out,
  ];
  const r = runCli(args);
  assert.equal(r.status, 0, r.stderr);
  const m = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as MetaJson;
  assert.equal(m.pool.length, 4);
  assert.ok(m.seconds > 0);
  assert.deepEqual(m.variants, ['int4', 'relearn']);
  const by = Object.fromEntries(m.metrics.map((x) => [x.metric, x]));
  // Trained on the forget rows: the answer's probability separates them perfectly.
  assert.equal(by.forget_Q_A_Prob!.faithfulness, 1);
  assert.equal(typeof by.forget_Q_A_Prob!.robustness.int4, 'number');
  assert.equal(typeof by.forget_Q_A_Prob!.robustness.relearn, 'number');
  assert.equal(typeof by.exact_memorization!.faithfulness, 'number');
  assert.equal(by.retain_Q_A_Prob!.faithfulness, null);
  for (const p of m.pool) assert.ok(existsSync(join(p.eval, 'EVAL.json')), p.eval);
  assert.match(readFileSync(join(out, 'META.md'), 'utf8'), /\| \d \| forget_Q_A_Prob \| forget \| lower \| higher \| 1 \|/);
  // Rated without a direction: the membership AUC by its distance from 0.5; the linear probe reads the
  // --target-model's fit, on the variants too. The truth ratio's neutral value is computed although not
  // asked for (these rows have no perturbed answers, so both are null with the reason).
  for (const name of ['mia_loss', 'forget_probe_Prob']) {
    assert.equal(typeof by[name]!.faithfulness, 'number', `${name}: ${by[name]!.reason}`);
    assert.equal(typeof by[name]!.robustness.int4, 'number', `${name} int4: ${JSON.stringify(by[name]!.robustness_reasons)}`);
  }
  assert.equal(by.holdout_truth_ratio!.faithfulness, null);
  assert.match(by.forget_truth_ratio!.reason!, /forget_truth_ratio has no value on 4 of 4 models/);
  assert.match(readFileSync(join(out, 'meta.html'), 'utf8'), /<td>forget_Q_A_Prob<\/td>/);
  assert.equal(lastMetaEvaluation(dep)!.faithfulness.forget_Q_A_Prob, 1);
  for (const row of rows.slice(0, 5)) {
    assert.ok(!readFileSync(join(out, 'meta.json'), 'utf8').includes(row.answer), 'no forget row in meta.json');
    assert.ok(!readFileSync(join(dep, META_EVALUATION_FILE), 'utf8').includes(row.answer), 'no forget row in the deployment');
  }
  // An interrupted run (no meta.json, one model not evaluated) continues with --resume: the others are read back.
  rmSync(join(out, 'meta.json'));
  rmSync(m.pool[1]!.eval, { recursive: true });
  const resumed = runCli([...args, '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal((resumed.stderr.match(/evaluated before, read from/g) ?? []).length, 3, resumed.stderr);
  const m2 = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as MetaJson;
  assert.deepEqual(
    m2.metrics.map((x) => [x.metric, x.faithfulness]),
    m.metrics.map((x) => [x.metric, x.faithfulness]),
  );
  // The output folder is not overwritten without being asked; one side of the pool is not enough.
  const again = runCli(['eval', 'meta', '--present', target, '--absent', base, '--forget', files.forget, '--out', out]);
  assert.notEqual(again.status, 0);
  assert.match(again.stderr, /is not empty/);
  const twice = runCli(['eval', 'meta', '--present', target, '--absent', base, target, '--forget', files.forget, '--out', join(tmp, 'y')]);
  assert.notEqual(twice.status, 0);
  assert.match(twice.stderr, /target is given twice/);
  const oneSided = runCli(['eval', 'meta', '--present', target, '--forget', files.forget, '--out', join(tmp, 'x')]);
  assert.notEqual(oneSided.status, 0);
  assert.match(oneSided.stderr, /--absent/);

  // --build-pool: the relearned retain model, NPO steps from the target (present) and the retain model
  // fine-tuned on retain rows (absent) under OUT/pool, beside the given models; kept when resumed.
  const built = join(tmp, 'built');
  const buildArgs = ['eval', 'meta', '--absent', base, '--forget', files.forget, '--retain', files.retain, '--holdout', files.holdout];
  const pooled = [
    ...buildArgs,
    ...['--build-pool', '--pool-npo-steps', '2', '--target-model', target, '--retain-model', retain],
    ...['--metrics', 'forget_Q_A_Prob', '--no-cache', '--out', built],
  ];
  const b = runCli(pooled);
  assert.equal(b.status, 0, b.stderr);
  const mb = JSON.parse(readFileSync(join(built, 'meta.json'), 'utf8')) as MetaJson;
  assert.deepEqual(
    mb.pool.map((p) => [p.model, p.present]),
    [
      [join(built, 'pool', 'relearned'), true],
      [join(built, 'pool', 'npo2'), true],
      [base, false],
      [join(built, 'pool', 'retain-ft'), false],
    ],
  );
  rmSync(join(built, 'meta.json'));
  const b2 = runCli([...pooled, '--resume']);
  assert.equal(b2.status, 0, b2.stderr);
  assert.equal((b2.stderr.match(/pool: \S+ built before/g) ?? []).length, 3, b2.stderr);
  const noTarget = runCli([...buildArgs, '--build-pool', '--retain-model', retain, '--out', join(tmp, 'z')]);
  assert.notEqual(noTarget.status, 0);
  assert.match(noTarget.stderr, /--build-pool: give --target-model and --retain-model/);
});
