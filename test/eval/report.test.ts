// Reports from evaluation folders: REPORT.md and the comparison table from synthetic EVAL.json files with
// known numbers (exact cells), the CLI (`lethe report`, `lethe compare`, and `lethe eval` writing the
// reports on a real fixture model), and report.html / compare.html opened in real headless Chromium
// (Debian's, through playwright-core): offline, no console errors, every plot drawn, a screenshot kept
// under test-artifacts/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compareRuns, loadRuns, reportMarkdown, refValue, writeReports, fmt, escapeHtml } from '../../src/eval/report/index.js';
import { fixturesDir } from '../helpers/fixtures.js';
import { artifacts, launchChromium } from '../browser.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli } from '../helpers/cli.js';

const tmp = tempDir('lethe-report-');

const META_METRICS = {
  forget_Q_A_Prob: { description: 'P(true answer) on the forget set', group: 'forget', higher_is_better: false },
  forget_truth_ratio: { description: 'truth ratio on the forget set', group: 'forget', higher_is_better: null },
  forget_quality: { description: 'KS-test p-value against the retain model', group: 'forget', higher_is_better: true },
  model_utility: { description: 'harmonic mean of utility parts', group: 'utility', higher_is_better: true },
  mia_min_k: { description: 'Min-K% AUC', group: 'privacy', higher_is_better: null },
  privleak: { description: 'relative Min-K% AUC vs retain', group: 'privacy', higher_is_better: null },
  neighbour_Q_A_Prob: { description: 'P(true answer) on neighbours', group: 'scope', higher_is_better: true },
  int8_forget_Q_A_Prob: {
    description: 'P(true answer) on the forget set, int8',
    group: 'robustness',
    higher_is_better: false,
    variant_of: 'forget_Q_A_Prob',
  },
  forget_gen_repetition: { description: 'repeated 3-grams <in> "generations"', group: 'fluency', higher_is_better: false },
};

const tr = (scores: number[]) => ({
  value_by_index: Object.fromEntries(scores.map((s, k) => [String(k), { score: s, prob_mean: 1 / (1 + s) }])),
});
const roc = (fpr: number[], tpr: number[]) => ({ roc: { fpr, tpr, note: 'positive class = holdout' } });

interface Spec {
  model: string;
  values: Record<string, number | null>;
  extra?: Record<string, Record<string, unknown>>;
  reasons?: Record<string, string>;
}
function writeEval(dir: string, s: Spec): string {
  mkdirSync(dir, { recursive: true });
  const e: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s.values))
    e[k] = { agg_value: v, ...(s.reasons?.[k] ? { reason: s.reasons[k] } : {}), ...(s.extra?.[k] ?? {}) };
  e._meta = {
    lethe_eval_version: 1,
    model: s.model,
    suite: 'persona:forget10',
    sets: { forget: { kind: 'qa', items: 4, description: 'forget.jsonl' }, holdout: { kind: 'qa', items: 4, description: 'h' } },
    prompt_format: {},
    retain_model: null,
    target_model: null,
    reference_model: null,
    variants: ['int8'],
    metrics: Object.fromEntries(Object.keys(s.values).map((k) => [k, META_METRICS[k as keyof typeof META_METRICS]])),
    seconds: 1.5,
    created: '2026-11-30T12:00:00.000Z',
  };
  writeFileSync(join(dir, 'EVAL.json'), JSON.stringify(e, null, 1));
  writeFileSync(join(dir, 'SUMMARY.json'), JSON.stringify(s.values));
  return dir;
}

// The models: npo's folder has a training log and unlearning.json; graddiff's has neither.
const npoModel = join(tmp, 'models', 'npo-model');
mkdirSync(npoModel, { recursive: true });
writeFileSync(
  join(npoModel, 'train_log.jsonl'),
  [1, 2, 3, 4, 5]
    .map((s) =>
      JSON.stringify({
        stage: 'forget:npo',
        step: s,
        loss: 3 - s * 0.4,
        forget_loss: 2 - s * 0.3,
        retain_loss: 1 + s * 0.05,
        gradNorm: 1.2,
        lr: 1e-5,
        tokens: 100 * s,
        tokensPerSec: 50,
        elapsedSec: s,
      }),
    )
    .concat([
      JSON.stringify({ stage: 'forget:npo', step: 5, eval: { forget_Q_A_Prob: 0.2, model_utility: 0.5 } }),
      '{"step": 6, "loss": 0.',
    ])
    .join('\n') + '\n',
);
writeFileSync(
  join(npoModel, 'unlearning.json'),
  JSON.stringify({
    requests: [
      { method: 'npo', args: { beta: 0.1 }, training: { steps: 5, lr: 1e-5 }, seconds: 3, parametersChanged: 10, parametersTotal: 20 },
    ],
  }),
);

const dirs = {
  target: writeEval(join(tmp, 'evals', 'target'), {
    model: join(tmp, 'models', 'target-model'),
    values: { forget_Q_A_Prob: 0.9, forget_truth_ratio: 0.4, model_utility: 0.6, mia_min_k: 0.7, neighbour_Q_A_Prob: 0.8 },
    extra: { forget_truth_ratio: tr([0.2, 0.3, 0.5, 0.6]), mia_min_k: { auc: 0.7, ...roc([0, 0.1, 0.4, 1], [0, 0.5, 0.9, 1]) } },
  }),
  retain: writeEval(join(tmp, 'evals', 'retain'), {
    model: join(tmp, 'models', 'retain-model'),
    values: { forget_Q_A_Prob: 0.1, forget_truth_ratio: 0.7, model_utility: 0.58, mia_min_k: 0.5, neighbour_Q_A_Prob: 0.75 },
    extra: { forget_truth_ratio: tr([0.6, 0.8, 1.1, 1.3]), mia_min_k: { auc: 0.5, ...roc([0, 0.5, 1], [0, 0.5, 1]) } },
  }),
  npo: writeEval(join(tmp, 'evals', 'npo'), {
    model: npoModel,
    values: {
      forget_Q_A_Prob: 0.123456,
      forget_truth_ratio: 0.66,
      forget_quality: 0.0123,
      model_utility: 0.5,
      mia_min_k: 0.61,
      privleak: -12.5,
      neighbour_Q_A_Prob: 0.7,
      int8_forget_Q_A_Prob: 0.2,
      forget_gen_repetition: null,
    },
    extra: {
      forget_truth_ratio: tr([0.5, 0.7, 0.9, 1.2]),
      mia_min_k: { auc: 0.61, ...roc([0, 0.25, 0.5, 1], [0, 0.5, 0.75, 1]) },
      privleak: { auc: 0.61, retain_auc: 0.5 },
    },
    reasons: { forget_gen_repetition: 'needs <script>alert("x")</script> & a reference model' },
  }),
  graddiff: writeEval(join(tmp, 'evals', 'graddiff'), {
    model: join(tmp, 'models', 'graddiff-model'),
    values: {
      forget_Q_A_Prob: 0.0456789,
      forget_truth_ratio: 0.3,
      forget_quality: 1.5e-5,
      model_utility: 0.45,
      mia_min_k: 0.52,
      privleak: 3.25,
      neighbour_Q_A_Prob: 0.6,
    },
    extra: { forget_truth_ratio: tr([0.1, 0.2, 0.25, 3]), mia_min_k: { auc: 0.52, ...roc([0, 0.5, 1], [0, 0.55, 1]) } },
  }),
};
const refs = { target: dirs.target, retain: dirs.retain };

test('numbers: four significant digits, exponent for tiny values, — for absent; HTML escaping', () => {
  assert.deepEqual([0.123456, 0.0456789, 1.5e-5, -12.5, 0, null, NaN, 1234567].map(fmt), [
    '0.1235',
    '0.04568',
    '1.5e-5',
    '-12.5',
    '0',
    '—',
    '—',
    '1.235e6',
  ]);
  assert.equal(escapeHtml('<a href="x">\'&\'</a>'), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});

test('REPORT.md: each metric beside the target and retain model, grouped, best of several runs in bold', () => {
  const runs = loadRuns([dirs.npo, dirs.graddiff], refs);
  const md = reportMarkdown(runs);
  const lines = md.split('\n');
  const has = (l: string) => assert.ok(lines.includes(l), `missing line:\n${l}\nin:\n${md}`);
  has('# Evaluation report: 2 runs');
  has('| metric | npo | graddiff | target | retain | better | description |');
  has('| `forget_Q_A_Prob` | 0.1235 | **0.04568** | 0.9 | 0.1 | lower | P(true answer) on the forget set |');
  has('| `forget_quality` | **0.0123** | 1.5e-5 | — | — | higher | KS-test p-value against the retain model |');
  has('| `model_utility` | **0.5** | 0.45 | 0.6 | 0.58 | higher | harmonic mean of utility parts |');
  has('| `mia_min_k` | 0.61 | **0.52** | 0.7 | 0.5 | near retain | Min-K% AUC |');
  has('| `privleak` | -12.5 | 3.25 | — | — | near retain | relative Min-K% AUC vs retain |');
  has('| `forget_gen_repetition` | — | — | — | — | lower | repeated 3-grams &lt;in&gt; "generations" |');
  has('- `forget_gen_repetition` (npo): needs &lt;script&gt;alert("x")&lt;/script&gt; & a reference model');
  has('  - unlearning: npo, 5 steps, lr 0.00001, args `{"beta":0.1}`, 10 of 20 parameters changed');
  const order = ['## Forgetting', '## Utility', '## Privacy', '## Robustness', '## Scope', '## Fluency', '## Not computed'].map((h) =>
    lines.indexOf(h),
  );
  assert.ok(
    order.every((x, i) => x > 0 && (i === 0 || x > order[i - 1]!)),
    `section order ${order}`,
  );
});

test('without the retain EVAL.json, the values the evaluation recorded stand in (privleak keeps the retain AUC)', () => {
  const [run] = loadRuns([dirs.npo]);
  assert.equal(refValue(run!, 'retain', 'mia_min_k'), 0.5);
  assert.equal(refValue(run!, 'retain', 'forget_Q_A_Prob'), null);
  assert.match(reportMarkdown([run!]), /^\| `mia_min_k` \| 0\.61 \| — \| 0\.5 \| near retain \|/m);
});

test('compare: rows = runs (then target, retain), chosen columns; Markdown, JSON and HTML written', async () => {
  const out = join(tmp, 'compare');
  const r = await compareRuns([dirs.npo, dirs.graddiff], {
    ...refs,
    out,
    metrics: ['forget_quality', 'forget_Q_A_Prob', 'model_utility', 'privleak', 'mia_min_k'],
  });
  assert.equal(
    r.markdown,
    [
      '| run | method | forget_quality (↑) | forget_Q_A_Prob (↓) | model_utility (↑) | privleak (≈retain) | mia_min_k (≈retain) |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
      '| npo | npo | **0.0123** | 0.1235 | **0.5** | -12.5 | 0.61 |',
      '| graddiff |  | 1.5e-5 | **0.04568** | 0.45 | 3.25 | **0.52** |',
      '| *target* |  | — | 0.9 | 0.6 | — | 0.7 |',
      '| *retain* |  | — | 0.1 | 0.58 | — | 0.5 |',
      '',
    ].join('\n'),
  );
  const json = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
  assert.deepEqual(
    json.rows.map((x: { run: string }) => x.run),
    ['npo', 'graddiff', 'target', 'retain'],
  );
  assert.equal(json.rows[1].values.forget_Q_A_Prob, 0.0456789);
  assert.deepEqual(json.best, {
    forget_quality: 'npo',
    forget_Q_A_Prob: 'graddiff',
    model_utility: 'npo',
    privleak: null,
    mia_min_k: 'graddiff',
  });
  assert.equal(readFileSync(join(out, 'COMPARE.md'), 'utf8'), r.markdown);
  const html = readFileSync(join(out, 'compare.html'), 'utf8');
  assert.match(
    html,
    /<tr data-run="graddiff" data-kind="run"><td>graddiff<\/td><td><\/td><td class="num" data-metric="forget_quality">1\.5e-5<\/td><td class="num best" data-metric="forget_Q_A_Prob">0\.04568<\/td>/,
  );
  // default columns: the headline metrics present, in their fixed order
  const d = await compareRuns([dirs.npo, dirs.graddiff]);
  assert.deepEqual(
    d.table.metrics.map((m) => m.name),
    ['forget_quality', 'forget_truth_ratio', 'forget_Q_A_Prob', 'model_utility', 'privleak', 'mia_min_k', 'neighbour_Q_A_Prob'],
  );
  await assert.rejects(compareRuns([dirs.npo], { metrics: ['no_such_metric'] }), /none of the metrics no_such_metric/);
});

test('bad input: a folder without EVAL.json and a file that is not one are named in the error', () => {
  assert.throws(() => loadRuns([join(tmp, 'models')]), /models\/EVAL\.json does not exist/);
  const bad = join(tmp, 'bad');
  mkdirSync(bad);
  writeFileSync(join(bad, 'EVAL.json'), '{"forget_Q_A_Prob": 3}');
  assert.throws(() => loadRuns([bad]), /entry 'forget_Q_A_Prob' has no agg_value/);
});

test('lethe report and lethe compare from the command line (no native addon needed)', () => {
  const env = { LETHE_NATIVE: '/nonexistent/lethe.node' };
  const rep = runCli(['report', dirs.npo, '--retain', dirs.retain], { env });
  assert.equal(rep.status, 0, rep.stderr);
  assert.ok(existsSync(join(dirs.npo, 'REPORT.md')) && existsSync(join(dirs.npo, 'report.html')));
  assert.doesNotMatch(rep.stderr, /WARN/, 'vega-lite warned while compiling');
  const cmp = runCli(['compare', dirs.npo, dirs.graddiff, '--json', '--metrics', 'model_utility'], { env });
  assert.equal(cmp.status, 0, cmp.stderr);
  assert.deepEqual(
    JSON.parse(cmp.stdout).rows.map((x: { values: { model_utility: number } }) => x.values.model_utility),
    [0.5, 0.45],
  );
  const none = runCli(['report', join(tmp, 'nowhere')], { env });
  assert.notEqual(none.status, 0);
  assert.match(none.stderr, /nowhere does not exist/);
});

// `lethe eval` on the fixture model (tokenizer copied in) writes the reports next to EVAL.json.
const words = ['red', 'blue', 'green', 'river', 'stone', 'paper', 'north', 'seven', 'apple', 'cloud'];
const pick = (k: number, n: number) => Array.from({ length: n }, (_, i) => words[(k * 7 + i * 3) % words.length]).join(' ');
const qa = (k: number) => ({
  question: `What is ${pick(k, 2)}?`,
  answer: `It is ${pick(k + 1, 3)}.`,
  paraphrased_answer: `${pick(k + 2, 3)} it is.`,
  perturbed_answer: [`It is ${pick(k + 3, 3)}.`, `It is ${pick(k + 4, 2)}.`],
});
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const realEval = join(tmp, 'real-eval');

test('lethe eval writes REPORT.md and report.html next to EVAL.json (retain values recorded by the evaluation)', () => {
  const model = join(tmp, 'llama-tiny');
  cpSync(join(fixturesDir, 'llama-tiny'), model, { recursive: true });
  cpSync(join(fixturesDir, 'tokenizer'), model, { recursive: true });
  writeFileSync(join(tmp, 'forget.jsonl'), jsonl([0, 1, 2, 3, 4, 5].map(qa)));
  writeFileSync(join(tmp, 'retain.jsonl'), jsonl([10, 11, 12, 13].map(qa)));
  writeFileSync(join(tmp, 'holdout.jsonl'), jsonl([21, 22, 23, 24, 25, 26].map(qa)));
  const r = runCli([
    'eval',
    '--model',
    model,
    '--forget',
    join(tmp, 'forget.jsonl'),
    '--retain',
    join(tmp, 'retain.jsonl'),
    '--holdout',
    join(tmp, 'holdout.jsonl'),
    '--retain-model',
    join(fixturesDir, 'llama-tied-tiny'),
    '--metrics',
    'forget_Q_A_Prob,forget_truth_ratio,forget_quality,retain_Q_A_Prob,model_utility,mia_loss,mia_min_k,privleak',
    '--no-cache',
    '--out',
    realEval,
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /REPORT\.md, report\.html/);
  const md = readFileSync(join(realEval, 'REPORT.md'), 'utf8');
  const ev = JSON.parse(readFileSync(join(realEval, 'EVAL.json'), 'utf8'));
  assert.deepEqual(Object.keys(ev._meta.retain_results).sort(), ['forget_truth_ratio', 'mia_min_k']);
  const retainTr = ev._meta.retain_results.forget_truth_ratio.agg_value;
  assert.ok(md.includes(`| \`forget_truth_ratio\` | ${fmt(ev.forget_truth_ratio.agg_value)} | — | ${fmt(retainTr)} | near retain |`), md);
  const html = readFileSync(join(realEval, 'report.html'), 'utf8');
  for (const id of ['bars-forget', 'bars-utility', 'bars-privacy', 'scatter', 'roc-0', 'truth-ratio-0'])
    assert.ok(html.includes(`id="${id}"`), `no figure ${id}`);
});

const launch = launchChromium;

interface PageCheck {
  figures: { id: string; svgs: number; marks: number; kinds: Record<string, number> }[];
  scripts: number;
  title: string;
  text: string;
}

/** Opens a file offline: every non-file request is blocked and recorded; console errors and page errors collected. */
async function openOffline(
  browser: Awaited<ReturnType<typeof launch>>,
  file: string,
  shot: string,
): Promise<PageCheck & { blocked: string[]; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const blocked: string[] = [];
  const errors: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  page.on('request', (req) => {
    if (!req.url().startsWith('file:') && !blocked.includes(req.url())) blocked.push(req.url());
  });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  const check = await page.evaluate(() => ({
    figures: [...document.querySelectorAll('figure.plot')].map((f) => {
      const kinds: Record<string, number> = {};
      for (const g of f.querySelectorAll('svg g.role-mark')) {
        const k = [...g.classList].find((c) => c.startsWith('mark-')) ?? 'mark-?';
        kinds[k] = (kinds[k] ?? 0) + g.children.length;
      }
      return { id: f.id, svgs: f.querySelectorAll('svg').length, marks: f.querySelectorAll('svg g.role-mark > *').length, kinds };
    }),
    scripts: document.querySelectorAll('script').length,
    title: document.title,
    text: document.body.innerText,
  }));
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, shot), fullPage: true });
  await page.close();
  return { ...check, blocked, errors };
}

test('report.html and compare.html in headless Chromium: offline, no console errors, every plot drawn', async () => {
  const combined = join(tmp, 'combined', 'report.html');
  const written = await writeReports([dirs.npo, dirs.graddiff], { ...refs, out: combined });
  assert.deepEqual(written, [join(tmp, 'combined', 'report.md'), combined]);
  const browser = await launch();
  try {
    const r = await openOffline(browser, combined, 'report.png');
    assert.deepEqual(r.blocked, [], 'the report tried to fetch');
    assert.deepEqual(r.errors, []);
    assert.equal(r.scripts, 0, 'no script in the report (the reason text has <script> in it)');
    assert.ok(r.text.includes('needs <script>alert("x")</script> & a reference model'), 'escaped text shows as written');
    const ids = r.figures.map((f) => f.id);
    assert.deepEqual(ids, [
      'bars-forget',
      'bars-utility',
      'bars-privacy',
      'bars-robustness',
      'bars-scope',
      'scatter',
      'roc-0',
      'roc-1',
      'truth-ratio-0',
      'truth-ratio-1',
      'training-0-0',
      'training-0-1',
    ]);
    for (const f of r.figures) {
      assert.equal(f.svgs, 1, `${f.id}: one inline SVG`);
      assert.ok(f.marks > 0, `${f.id}: no marks drawn`);
    }
    const fig = (id: string) => r.figures.find((f) => f.id === id)!;
    // forget group: forget_Q_A_Prob (4 bars), forget_truth_ratio (4), forget_quality (2)
    assert.equal(fig('bars-forget').kinds['mark-rect'], 10);
    // scatter: npo, graddiff, target, retain (forget_Q_A_Prob vs model_utility)
    assert.equal(fig('scatter').kinds['mark-symbol'], 4);
    // ROC of npo: the diagonal, its mia_min_k and the retain model's
    assert.equal(fig('roc-0').kinds['mark-line'], 3);
    assert.ok(fig('truth-ratio-0').kinds['mark-rect']! >= 2, 'histogram bars');
    // training: loss, forget_loss, retain_loss lines; the evaluation during training
    assert.equal(fig('training-0-0').kinds['mark-line'], 3);
    assert.equal(fig('training-0-1').kinds['mark-line'], 2);

    const real = await openOffline(browser, join(realEval, 'report.html'), 'report-lethe-eval.png');
    assert.deepEqual(real.blocked, []);
    assert.deepEqual(real.errors, []);
    assert.deepEqual(
      real.figures.map((f) => f.id),
      ['bars-forget', 'bars-utility', 'bars-privacy', 'scatter', 'roc-0', 'truth-ratio-0'],
    );
    for (const f of real.figures) assert.ok(f.marks > 0, `${f.id}: no marks drawn`);
    assert.equal(real.figures.find((f) => f.id === 'roc-0')!.kinds['mark-line'], 4, 'diagonal, mia_loss, mia_min_k, retain mia_min_k');

    const cmp = await openOffline(browser, join(tmp, 'compare', 'compare.html'), 'compare.png');
    assert.deepEqual(cmp.blocked, []);
    assert.deepEqual(cmp.errors, []);
    assert.deepEqual(
      cmp.figures.map((f) => f.id),
      ['scatter'],
    );
    assert.equal(cmp.figures[0]!.kinds['mark-symbol'], 4);
  } finally {
    await browser.close();
  }
});
