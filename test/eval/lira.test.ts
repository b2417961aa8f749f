// LiRA (src/eval/lira.ts, src/eval/metrics/mia-lira.ts, src/eval/shadows.ts): the per-record Gaussian
// fits, the online likelihood ratio and the offline p-values against scipy.stats.norm
// (test/eval/ref/make_lira_reference.py); then `--mia lira` end to end on a tiny model: shadows
// fine-tuned with the training loop, a model that trained on the forget records identified and the
// base model not, the shadows reused from the cache by a second evaluation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluate } from '../../src/index.js';
import { getMetric, needKey, type ItemStats, type MetricContext, type Need } from '../../src/eval/metrics/index.js';
import { fitRecords, liraScore, offlineLogP, onlineStatistic, tprAtFpr } from '../../src/eval/lira.js';
import { normLogPdf, normLogSf } from '../../src/eval/stats.js';
import { finetune } from '../../src/train/finetune.js';
import { shadowMembers, type ShadowLosses, type ShadowSpec } from '../../src/eval/shadows.js';
import { requireRepoFixture } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/close.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli } from '../helpers/cli.js';
import { parsePolicy, verifyAgainstPolicy } from '../../src/workflow/policy.js';
import { tinyModel, writeJsonl } from '../unlearn/tiny.js';

interface Case {
  name: string;
  variance: 'record' | 'global';
  losses: number[][];
  member: boolean[][];
  scores: number[][];
  target_loss: number[];
  target_score: number[];
  mu_in: number[];
  sd_in: number[];
  mu_out: number[];
  sd_out: number[];
  lambda: number[];
  p_offline: number[];
  logp_offline: number[];
}
const ref = JSON.parse(readFileSync(requireRepoFixture('eval', 'ref', 'lira_reference.json'), 'utf8')) as {
  cases: Case[];
  tail: { x: number; mu: number; sd: number; logsf: number; logpdf: number }[];
  metric: {
    forget: number[];
    holdout: number[];
    auc: number;
    auc_offline: number;
    identified: number;
    holdout_identified: number;
    identified_without_bonferroni: number;
  };
};

for (const c of ref.cases) {
  test(`LiRA, ${c.name} (${c.scores.length} records × ${c.scores[0]!.length} shadows, ${c.variance} variance): scipy's fits, Λ and p-values`, () => {
    assertClose(
      c.losses.map((row) => row.map(liraScore)),
      c.scores,
      { atol: 1e-10, rtol: 1e-10, what: 'logit(exp(-loss))' },
    );
    const fits = fitRecords(c.scores, c.member, c.variance);
    for (const [field, expected] of [
      ['muIn', c.mu_in],
      ['sdIn', c.sd_in],
      ['muOut', c.mu_out],
      ['sdOut', c.sd_out],
    ] as const)
      assertClose(
        fits.map((f) => f[field]),
        expected,
        { atol: 1e-12, rtol: 1e-10, what: field },
      );
    const x = c.target_loss.map(liraScore);
    assertClose(x, c.target_score, { atol: 1e-10, rtol: 1e-10, what: 'target score' });
    assertClose(
      x.map((v, r) => onlineStatistic(v, fits[r]!)),
      c.lambda,
      { atol: 1e-9, rtol: 1e-9, what: 'lambda' },
    );
    const logP = x.map((v, r) => offlineLogP(v, fits[r]!));
    assertClose(logP, c.logp_offline, { atol: 1e-12, rtol: 1e-9, what: 'log p offline' });
    assertClose(logP.map(Math.exp), c.p_offline, { atol: 1e-15, rtol: 1e-9, what: 'p offline' });
  });
}

test("mia_lira and mia_lira_identified on the 'metric' case: scikit-learn's AUC, the Bonferroni count of scipy's p-values", async () => {
  const c = ref.cases.find((x) => x.name === 'metric')!;
  const m = ref.metric;
  // A one-token sequence whose log-probability is −loss has mean NLL = loss.
  const stats = (rs: number[]): ItemStats[] =>
    rs.map((r) => ({ true: { logProbs: [-c.target_loss[r]!], hits: [false], eos: false }, text: '' }));
  const side = (rs: number[]) => ({ loss: rs.map((r) => c.losses[r]!), member: rs.map((r) => c.member[r]!) });
  const values: Record<string, unknown> = {
    'stats:forget': stats(m.forget),
    'stats:holdout': stats(m.holdout),
    shadows: { count: c.losses[0]!.length, forget: side(m.forget), holdout: side(m.holdout) } satisfies ShadowLosses,
  };
  const ctx = { get: async (n: Need) => values[needKey(n)], set: () => ({}) } as unknown as MetricContext;
  const auc = await getMetric('mia_lira').compute(ctx);
  assertClose(auc.aggValue, m.auc, { atol: 1e-12, what: 'mia_lira' });
  assertClose((auc.extra as { auc_offline: number }).auc_offline, m.auc_offline, { atol: 1e-12, what: 'mia_lira auc_offline' });
  const identified = await getMetric('mia_lira_identified').compute(ctx);
  assert.notEqual(m.identified, m.identified_without_bonferroni, 'the fixture has a record between α/n and α');
  assert.equal(identified.aggValue, m.identified);
  assert.equal((identified.extra as { holdout_identified: number }).holdout_identified, m.holdout_identified);
  assertClose(
    Object.values(identified.valueByIndex!).map((v) => v.log10_p_offline),
    m.forget.map((r) => c.logp_offline[r]! / Math.LN10),
    { atol: 1e-12, rtol: 1e-9, what: 'log10 p' },
  );
});

test("normal log-sf and log-pdf from z = -30 to 60: scipy's, the far tail included", () => {
  for (const t of ref.tail) {
    assertClose(normLogSf(t.x, t.mu, t.sd), t.logsf, { atol: 1e-13, rtol: 1e-12, what: `logsf(${t.x})` });
    assertClose(normLogPdf(t.x, t.mu, t.sd), t.logpdf, { atol: 1e-13, rtol: 1e-12, what: `logpdf(${t.x})` });
  }
});

test('a record without IN or without OUT shadows is refused; TPR at FPR thresholds on the holdout', () => {
  assert.throws(() => fitRecords([[1, 2, 3]], [[true, true, true]], 'record'), /record 0 has 3 IN and 0 OUT/);
  // 10 negatives 0..9: at FPR 10% one may pass, so the threshold is 8 and only positives above 8 count.
  const r = tprAtFpr([8.5, 9.5, 3, 8], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 0.1);
  assert.deepEqual(r, { tpr: 0.5, identified: 2, achievedFpr: 0.1, threshold: 8 });
});

test('shadow pairs split the candidates into complementary halves, the same for any number of shadows', () => {
  const a = shadowMembers(11, 0, 3);
  const b = shadowMembers(11, 1, 3);
  assert.equal(a.length, 5);
  assert.deepEqual(
    [...a, ...b].sort((p, q) => p - q),
    Array.from({ length: 11 }, (_, i) => i),
  );
  assert.notDeepEqual(shadowMembers(11, 2, 3), a, 'another pair draws another half');
});

test('--mia lira end to end: a model trained on the forget records is identified, its base is not; shadows come from the cache the second time', async () => {
  const tmp = tempDir('lethe-lira-');
  // Records of random syllables: what a shadow learns about one says nothing about another.
  const syl = ['ka', 'lo', 'mi', 'ru', 'te', 'zo', 'pa', 'ne', 'vi', 'su', 'do', 'ge'];
  const answer = (k: number) =>
    `${syl[k % 12]}${syl[(5 * k + 3 + Math.floor(k / 12)) % 12]} ${syl[(7 * k + 1 + 2 * Math.floor(k / 12)) % 12]}${syl[(11 * k + 4) % 12]}`;
  const rows = Array.from({ length: 16 }, (_, k) => ({ question: `C${k}?`, answer: answer(k) }));
  const base = tinyModel(
    tmp,
    1,
    rows.map((r) => `Question: ${r.question}\nAnswer: ${r.answer}`),
  );
  const files = {
    forget: writeJsonl(join(tmp, 'forget.jsonl'), rows.slice(0, 8)),
    holdout: writeJsonl(join(tmp, 'holdout.jsonl'), rows.slice(8)),
  };
  const training = { epochs: 80, lr: 1e-2, batchSize: 8, seed: 0 };
  const target = join(tmp, 'target');
  await finetune({ modelDir: base, dataFiles: [files.forget], outDir: target, ...training, seed: 9, report: () => {} });
  const shadows: ShadowSpec = { count: 4, baseDir: base, ...training };
  const cacheDir = join(tmp, 'cache');
  const lines: string[] = [];
  const run = (modelDir: string) =>
    evaluate({ modelDir, files, shadows, cacheDir, metrics: ['mia_lira', 'mia_lira_identified'], log: (l) => lines.push(l) });

  const t = await run(target);
  const identified = t.results.get('mia_lira_identified')!;
  const auc = t.results.get('mia_lira')!;
  assert.equal(lines.filter((l) => /shadow \d\/4: trained/.test(l)).length, shadows.count);
  assert.ok(auc.aggValue! > 0.9, `AUC ${auc.aggValue}`);
  assert.ok(identified.aggValue! >= 6, `identified ${identified.aggValue} of 8 (${JSON.stringify(identified.valueByIndex)})`);
  // The target is not a shadow (trained on exactly the forget half, not a random one): a holdout record
  // that resembles the forget records may stand out too (1 of 8 here); the same rule flags far fewer.
  const holdoutIdentified = (identified.extra as { holdout_identified: number }).holdout_identified;
  assert.ok(holdoutIdentified <= 2, `holdout identified ${holdoutIdentified}`);
  const perRecord = identified.valueByIndex!['0']!;
  assert.deepEqual(Object.keys(perRecord).sort(), [
    'identified',
    'lambda',
    'log10_p_offline',
    'mu_in',
    'mu_out',
    'p_offline',
    'score',
    'sd_in',
    'sd_out',
  ]);
  const flagged = Object.values(identified.valueByIndex!).filter((v) => v.identified);
  assert.equal(flagged.length, identified.aggValue);
  for (const v of flagged) assert.ok((v.p_offline as number) < 0.05 / 8);
  assert.ok(!JSON.stringify(t.eval).includes(rows[0]!.answer), 'no record text in EVAL.json');

  lines.length = 0;
  const b = await run(base);
  assert.equal(lines.filter((l) => /shadow \d\/4: cached/.test(l)).length, shadows.count, lines.join('\n'));
  assert.equal(b.results.get('mia_lira_identified')!.aggValue, 0);
  // A release policy can require that no forget record is identified.
  const policy = parsePolicy({ checks: [{ metric: 'mia_lira_identified', max: 0 }] });
  assert.equal(verifyAgainstPolicy(t.eval, null, policy).passed, false);
  assert.equal(verifyAgainstPolicy(b.eval, null, policy).passed, true);

  const none = await evaluate({ modelDir: base, files, cacheDir: null, metrics: ['mia_lira_identified'], log: () => {} });
  assert.equal(none.results.get('mia_lira_identified')!.aggValue, null);
  assert.match(none.results.get('mia_lira_identified')!.reason!, /--mia lira --shadows K/);
});

test('lethe eval refuses shadow flags without --mia lira, another attack, a missing base and a bad --shadow-train, naming the flag', () => {
  const args = ['eval', '--model', 'm', '--forget', 'f.jsonl', '--out', 'o'];
  const cases: [string[], RegExp][] = [
    [['--shadows', '4'], /--shadows, --shadow-base, --shadow-data and --shadow-train go with --mia lira/],
    [['--mia', 'loss'], /'--mia' must be 'lira', got 'loss'/],
    [['--mia', 'lira'], /--mia lira needs --shadow-base DIR/],
    [['--mia', 'lira', '--shadow-base', 'b', '--shadow-train', 'lr=0'], /--shadow-train: 'lr' must be a positive number, got '0'/],
    [['--mia', 'lira', '--shadow-base', 'b', '--shadow-train', 'steps=3'], /unknown key 'steps' \(expected epochs, lr, batch, seed\)/],
  ];
  for (const [extra, message] of cases) {
    const r = runCli([...args, ...extra]);
    assert.equal(r.status, 1, `${extra.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});
