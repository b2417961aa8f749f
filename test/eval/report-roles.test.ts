// The combined report and the comparison table beside the retain and target models' own evaluations:
// those runs are shown but never marked best (only unlearned candidates compete), however they are
// recognised (named as a run's retain/target model, or given as --retain/--target); and a null value
// shows as "—" with its reason (a note line in Markdown, a tooltip and a list in HTML).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  compareHtml,
  compareMarkdown,
  compareTable,
  compareJson,
  loadRuns,
  reportHtml,
  reportMarkdown,
} from '../../src/eval/report/index.js';
import { refRoles } from '../../src/eval/report/load.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('lethe-report-roles-');

const METRICS = {
  forget_quality: { description: 'KS p-value', group: 'forget', higher_is_better: true },
  forget_Q_A_Prob: { description: 'P(true answer), forget', group: 'forget', higher_is_better: false },
  forget_truth_ratio: { description: 'truth ratio, forget', group: 'forget', higher_is_better: null },
  forget_Q_A_PARA_ROUGE: { description: 'ROUGE-L recall vs paraphrase', group: 'forget', higher_is_better: false },
  model_utility: { description: 'harmonic mean of nine parts', group: 'utility', higher_is_better: true },
};
const PARA_WHY = "no row of the forget set has 'paraphrased_answer'";

interface Spec {
  model: string;
  retainModel?: string | null;
  targetModel?: string | null;
  values: Record<string, number | null>;
  reasons?: Record<string, string>;
}
function writeEval(dir: string, s: Spec): string {
  mkdirSync(dir, { recursive: true });
  mkdirSync(s.model, { recursive: true });
  const e: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s.values)) e[k] = { agg_value: v, ...(s.reasons?.[k] ? { reason: s.reasons[k] } : {}) };
  e._meta = {
    lethe_eval_version: 4,
    model: s.model,
    suite: 'custom',
    sets: {},
    prompt_format: {},
    retain_model: s.retainModel ?? null,
    target_model: s.targetModel ?? null,
    reference_model: null,
    variants: [],
    metrics: Object.fromEntries(Object.keys(s.values).map((k) => [k, METRICS[k as keyof typeof METRICS]])),
    seconds: 1,
    created: '2026-12-01T00:00:00.000Z',
  };
  writeFileSync(join(dir, 'EVAL.json'), JSON.stringify(e));
  return dir;
}

const models = { retain: join(tmp, 'models', 'retain-model'), target: join(tmp, 'models', 'target-model') };
// The retain model would win every metric a candidate can win: lowest forget probability, highest
// forget quality (1: itself), exactly the retain value of the truth ratio; the target wins utility.
const retainValues = { forget_quality: 1, forget_Q_A_Prob: 0.02, forget_truth_ratio: 0.7, forget_Q_A_PARA_ROUGE: 0.01, model_utility: 0.7 };
const targetValues = {
  forget_quality: 1e-9,
  forget_Q_A_Prob: 0.9,
  forget_truth_ratio: 0.3,
  forget_Q_A_PARA_ROUGE: 0.8,
  model_utility: 0.8,
};
const candidate = (name: string, values: Spec['values'], refs: boolean) =>
  writeEval(join(tmp, refs ? 'named' : 'given', name), {
    model: join(tmp, 'models', `${name}-model`),
    retainModel: refs ? models.retain : null,
    targetModel: refs ? models.target : null,
    values,
    reasons: { forget_Q_A_PARA_ROUGE: PARA_WHY },
  });
const npoValues = { forget_quality: 0.3, forget_Q_A_Prob: 0.1, forget_truth_ratio: 0.65, forget_Q_A_PARA_ROUGE: null, model_utility: 0.5 };
const gdValues = { forget_quality: 0.01, forget_Q_A_Prob: 0.05, forget_truth_ratio: 0.5, forget_Q_A_PARA_ROUGE: null, model_utility: 0.45 };

/** The cells of a Markdown table row ("| a | b |" → ["a", "b"]). */
const cells = (line: string) =>
  line
    .slice(2, -2)
    .split(' | ')
    .map((c) => c.trim());

function assertNoBoldIn(md: string, columns: number[]) {
  for (const line of md.split('\n').filter((l) => l.startsWith('| `'))) {
    const c = cells(line);
    for (const k of columns) assert.ok(!c[k]!.includes('**'), `column ${k} is bold in: ${line}`);
  }
}

test("runs named as the candidates' retain / target model are never best; only candidates compete", async () => {
  const dirs = {
    npo: candidate('npo', npoValues, true),
    gd: candidate('graddiff', gdValues, true),
    retain: writeEval(join(tmp, 'named', 'retain-eval'), { model: models.retain, values: retainValues }),
    target: writeEval(join(tmp, 'named', 'target-eval'), { model: models.target, values: targetValues }),
  };
  const runs = loadRuns([dirs.npo, dirs.gd, dirs.retain, dirs.target]);
  assert.deepEqual(refRoles(runs), [null, null, 'retain', 'target']);

  const md = reportMarkdown(runs);
  const lines = md.split('\n');
  const has = (l: string) => assert.ok(lines.includes(l), `missing line:\n${l}\nin:\n${md}`);
  has('| metric | npo | graddiff | retain-eval (retain model) | target-eval (target model) | target | retain | better | description |');
  // The retain / target columns beside come from those runs when no --retain / --target is given.
  has('| `forget_quality` | **0.3** | 0.01 | 1 | 1e-9 | 1e-9 | 1 | higher | KS p-value |');
  has('| `forget_Q_A_Prob` | 0.1 | **0.05** | 0.02 | 0.9 | 0.9 | 0.02 | lower | P(true answer), forget |');
  has('| `forget_truth_ratio` | **0.65** | 0.5 | 0.7 | 0.3 | 0.3 | 0.7 | near retain | truth ratio, forget |');
  has('| `model_utility` | **0.5** | 0.45 | 0.7 | 0.8 | 0.8 | 0.7 | higher | harmonic mean of nine parts |');
  has('  - the retain model itself: shown for reference, never marked best');
  assertNoBoldIn(md, [3, 4]);

  const html = await reportHtml(runs);
  const retainCells = [
    ...html.matchAll(/<tr data-metric="[^"]+"><td><code>[^<]+<\/code><\/td>(?:<td[^>]*>[^<]*<\/td>){2}(<td[^>]*>)[^<]*<\/td>(<td[^>]*>)/g),
  ];
  assert.equal(retainCells.length, 5);
  for (const m of retainCells) assert.ok(!/best/.test(m[1]! + m[2]!), `retain/target run marked best: ${m[0]}`);
  assert.match(html, /<td class="num best">0\.3<\/td>/);

  const t = compareTable(runs);
  assert.deepEqual(
    t.rows.map((r) => [r.run, r.kind]),
    [
      ['npo', 'run'],
      ['graddiff', 'run'],
      ['retain-eval', 'retain'],
      ['target-eval', 'target'],
    ],
    'the runs that are the retain / target model are those rows (no second copy from the recorded values)',
  );
  assert.deepEqual((compareJson(t) as { best: Record<string, string | null> }).best, {
    forget_quality: 'npo',
    forget_truth_ratio: 'npo',
    forget_Q_A_Prob: 'graddiff',
    model_utility: 'npo',
  });
  const cmp = compareMarkdown(t);
  assert.ok(cmp.includes('| *retain* (retain-eval) | 1 | 0.7 | 0.02 | 0.7 |'), cmp);
  assert.ok(cmp.includes('| *target* (target-eval) | 1e-9 | 0.3 | 0.9 | 0.8 |'), cmp);
});

test('a run given as --retain / --target is recognised by its EVAL.json and never best', () => {
  const npo = candidate('npo', npoValues, false);
  const gd = candidate('graddiff', gdValues, false);
  const retain = writeEval(join(tmp, 'given', 'retain-eval'), { model: models.retain, values: retainValues });
  const target = writeEval(join(tmp, 'given', 'target-eval'), { model: models.target, values: targetValues });
  const runs = loadRuns([retain, npo, target, gd], { retain, target });
  assert.deepEqual(refRoles(runs), ['retain', null, 'target', null]);
  const md = reportMarkdown(runs);
  assert.ok(md.includes('| `model_utility` | 0.7 | **0.5** | 0.8 | 0.45 | 0.8 | 0.7 | higher |'), md);
  assert.ok(md.includes('| `forget_quality` | 1 | **0.3** | 1e-9 | 0.01 |'), md);
  assertNoBoldIn(md, [1, 3]);
  const best = (compareJson(compareTable(runs)) as { best: Record<string, string | null> }).best;
  assert.ok(!Object.values(best).some((b) => b === 'retain' || b === 'target'), JSON.stringify(best));
  assert.equal(best.forget_Q_A_Prob, 'graddiff');
});

test('a null value shows as — with its reason: a note line in Markdown, a tooltip and a list in HTML', async () => {
  const npo = candidate('npo', npoValues, true);
  const old = writeEval(join(tmp, 'named', 'old'), {
    model: join(tmp, 'models', 'old-model'),
    values: { ...gdValues, forget_Q_A_PARA_ROUGE: null },
  });
  const runs = loadRuns([npo, old]);
  const md = reportMarkdown(runs);
  assert.ok(md.includes('| `forget_Q_A_PARA_ROUGE` | — | — |'), md);
  assert.ok(md.includes(`- \`forget_Q_A_PARA_ROUGE\` (npo): ${PARA_WHY}`), md);
  assert.ok(md.includes('- `forget_Q_A_PARA_ROUGE` (old): no reason recorded'), md);
  const html = await reportHtml(runs);
  assert.ok(html.includes(`<td class="num na" title="no row of the forget set has &#39;paraphrased_answer&#39;">—</td>`), 'tooltip');
  assert.ok(html.includes('<td class="num na" title="no reason recorded">—</td>'));

  const t = compareTable(runs, ['forget_Q_A_PARA_ROUGE', 'model_utility']);
  assert.deepEqual(t.rows[0]!.reasons, { forget_Q_A_PARA_ROUGE: PARA_WHY });
  const cmp = compareMarkdown(t);
  assert.ok(
    cmp.includes(
      `Not computed (—):\n\n- npo, \`forget_Q_A_PARA_ROUGE\`: ${PARA_WHY}\n- old, \`forget_Q_A_PARA_ROUGE\`: no reason recorded\n`,
    ),
    cmp,
  );
  const ch = await compareHtml(t, runs);
  assert.ok(
    ch.includes(
      `<td class="num na" data-metric="forget_Q_A_PARA_ROUGE" title="no row of the forget set has &#39;paraphrased_answer&#39;">—</td>`,
    ),
    'compare tooltip',
  );
  assert.deepEqual((compareJson(t) as { rows: { reasons?: object }[] }).rows[0]!.reasons, { forget_Q_A_PARA_ROUGE: PARA_WHY });
});
