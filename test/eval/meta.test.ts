// `lethe eval meta`: faithfulness (AUC separating models with and without the forget knowledge) and
// robustness against scikit-learn's roc_auc_score (test/eval/ref/make_meta_reference.py), the
// deployment's record and the release warnings it drives, and the command end to end on tiny models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { getMetric } from '../../src/eval/metrics/index.js';
import { metaMetrics, separationAuc, type MetaJson } from '../../src/eval/meta.js';
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
}
const ref = JSON.parse(readFileSync(requireRepoFixture('eval/ref/meta_reference.json'), 'utf8')) as Reference;

test('separationAuc is roc_auc_score on values oriented by the metric direction (ties included)', () => {
  for (const c of ref.cases)
    assertClose(separationAuc(c.values, c.present, c.higher_is_better), c.auc, { atol: 1e-12, what: `AUC of ${c.values.length} values` });
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
  // forget_quality has no variants.
  assert.deepEqual(by.forget_quality!.robustness, {});
  assert.equal(by.retain_Q_A_Prob!.faithfulness, null);
  assert.match(by.retain_Q_A_Prob!.reason!, /not applicable: a utility metric/);
  assert.equal(by.forget_truth_ratio!.faithfulness, null);
  assert.match(by.forget_truth_ratio!.reason!, /not applicable: no direction/);
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
  assert.match(w[1]!, /^forget_truth_ratio has no faithfulness .*not applicable: no direction/);
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
  assert.match(lines[0]!, /\| rank \| metric \| group \| better \| faithfulness \| robustness \(int4\) \| note \|/);
  assert.match(lines[1]!, /^\| 1 \| forget_Q_A_Prob \| forget \| lower \| 0\.8889 \| 0\.4444 \| {2}\|$/);
  assert.match(lines.at(-1)!, /^\| {2}\| retain_Q_A_Prob \| utility \| higher \| — \| {2}\| not applicable: a utility metric/);
});

test('lethe eval meta end to end: models fine-tuned on the forget rows are told from their base and a retain model', async () => {
  const tmp = tempDir('lethe-meta-');
  const rows = Array.from({ length: 12 }, (_, k) => ({
    question: `Who is P${k}?`,
    answer: `P${k} likes ${['tea', 'maps', 'boats'][k % 3]} ${k}`,
  }));
  const base = tinyModel(
    tmp,
    1,
    rows.map((r) => `Question: ${r.question}\nAnswer: ${r.answer}`),
  );
  const files = {
    forget: writeJsonl(join(tmp, 'forget.jsonl'), rows.slice(0, 4)),
    retain: writeJsonl(join(tmp, 'retain.jsonl'), rows.slice(4, 8)),
    holdout: writeJsonl(join(tmp, 'holdout.jsonl'), rows.slice(8)),
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
  const metrics = 'forget_Q_A_Prob,exact_memorization,forget_truth_ratio,retain_Q_A_Prob,mia_loss';
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
  assert.match(readFileSync(join(out, 'META.md'), 'utf8'), /\| [12] \| forget_Q_A_Prob \| forget \| lower \| 1 \|/);
  assert.match(readFileSync(join(out, 'meta.html'), 'utf8'), /<td>forget_Q_A_Prob<\/td>/);
  assert.equal(lastMetaEvaluation(dep)!.faithfulness.forget_Q_A_Prob, 1);
  for (const row of rows.slice(0, 4)) {
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
});
