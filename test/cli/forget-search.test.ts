// `lethe forget --search` end to end on the llama-tiny fixture, fine-tuned first on the forget rows
// (so that they start out recognisable against the holdout): the search writes search.json and
// recipe.json, leaves only the winner's model in --out, and `--config OUT/recipe.json` re-runs the
// chosen recipe to the same weights bit for bit. Bad input is refused with a clear error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../src/index.js';
import { finetune } from '../../src/train/finetune.js';
import { requireFixture } from '../helpers/fixtures.js';
import { interruptAt, runCli } from '../helpers/cli.js';
import { forgetQualityScore } from '../../src/eval/search-criterion.js';
import { recipeSearch, type RecipeSearchOptions } from '../../src/workflow/search/recipe-search.js';
import { rerunArgs } from '../../src/cli/unlearn.js';

let dir = '';
let target = '';
const files: Record<string, string> = {};
const qa = (q: string, a: string) => ({ question: q, answer: a });
/** With the answers TOFU's truth ratio needs (forget quality). */
const qaTr = (q: string, a: string) => ({ ...qa(q, a), paraphrased_answer: `${a} Yes.`, perturbed_answer: [`Not ${a}`, `${a} No.`] });
const jsonl = (name: string, rows: unknown[]) => {
  files[name] = join(dir, `${name}.jsonl`);
  writeFileSync(files[name], rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lethe-search-'));
  const base = join(dir, 'base');
  mkdirSync(base);
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(requireFixture('llama-tiny', f), join(base, f));
  copyFileSync(requireFixture('tokenizer', 'tokenizer.json'), join(base, 'tokenizer.json'));
  jsonl('forget', [
    qaTr('Where does Ada live?', 'In Lyon.'),
    qaTr('What is her job?', 'She bakes.'),
    qaTr('When was Ada born?', 'In 1970.'),
    qaTr('Who is her brother?', 'Tom.'),
  ]);
  jsonl('retain', [qa('Where does Bo live?', 'In Oslo.'), qa('What is his job?', 'He flies.'), qa('When was Bo born?', 'In 1981.')]);
  jsonl('holdout', [
    qa('Where does Cy live?', 'In Rome.'),
    qa('What is his job?', 'He sings.'),
    qa('When was Cy born?', 'In 1990.'),
    qa('Who is his sister?', 'Eve.'),
  ]);
  jsonl('text', [{ text: 'Where does Ada live?' }]);
  target = join(dir, 'target');
  await finetune({
    modelDir: base,
    dataFiles: [files.forget!, files.retain!],
    outDir: target,
    steps: 12,
    lr: 3e-3,
    batchSize: 4,
    report: () => {},
  });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const forgetArgs = (out: string, ...extra: string[]) => [
  'forget',
  '--model',
  target,
  '--forget',
  files.forget!,
  '--retain',
  files.retain!,
  '--method',
  'NPO',
  '--steps',
  '8',
  '--batch-size',
  '2',
  '--out',
  out,
  ...extra,
];

test('forget --search 4: search.json, recipe.json, the winner in --out; --config recipe.json re-runs it bit for bit', () => {
  const out = join(dir, 'searched');
  const r = runCli(forgetArgs(out, '--search', '4', '--holdout', files.holdout!, '--nproc', 'auto'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /lethe: 1 process \(a recipe search/, 'candidates train one after another in this process');
  const search = JSON.parse(readFileSync(join(out, 'search.json'), 'utf8'));
  assert.equal(search.candidates.length, 4);
  assert.deepEqual(search.rungs, [2, 4, 8]);
  assert.deepEqual(
    search.rounds.map((r: number[]) => r.length),
    [4, 2, 1],
  );
  const win = search.candidates[search.winner];
  assert.equal(win.step, 8, 'the winner trained to the end');
  assert.equal(search.candidates.filter((c: { stopped: boolean }) => !c.stopped).length, 1);
  for (const c of search.candidates) {
    assert.ok(c.evaluations.length >= 1);
    for (const e of c.evaluations)
      for (const k of ['auc_loss', 'auc_mink', 'mia', 'prob_ratio', 'retain_ratio', 'search_score'])
        assert.equal(typeof e.terms[k], 'number', k);
  }
  assert.equal(search.steps, 4 * 2 + 2 * 2 + 4);
  assert.ok(!existsSync(join(out, '.search')), 'the candidates are removed');
  const recipe = JSON.parse(readFileSync(join(out, 'recipe.json'), 'utf8'));
  assert.equal(recipe.kind, 'lethe-recipe');
  assert.equal(recipe.training.lr, win.lr);
  assert.equal(recipe.training.keepBest, 'search_score:min');
  assert.equal(recipe.args.beta, win.args.beta ?? recipe.args.beta);
  const record = JSON.parse(readFileSync(join(out, 'unlearning.json'), 'utf8')).requests.at(-1);
  assert.deepEqual(record.search.recipe, recipe);
  assert.equal(record.training.keepBest, 'search_score:min');
  assert.match(r.stderr, /re-run the chosen recipe: lethe forget .* --config .*recipe\.json/);
  const model = loadModel(out);
  model.dispose();

  const again = join(dir, 'rerun');
  const r2 = runCli(forgetArgs(again, '--holdout', files.holdout!, '--config', join(out, 'recipe.json'), '--nproc', '1'));
  assert.equal(r2.status, 0, r2.stderr);
  assert.ok(
    readFileSync(join(again, 'model.safetensors')).equals(readFileSync(join(out, 'model.safetensors'))),
    'the same weights, bit for bit',
  );
  // The recipe is another method's: refused.
  const r3 = runCli([
    ...forgetArgs(join(dir, 'other'), '--holdout', files.holdout!, '--config', join(out, 'recipe.json')).map((a) =>
      a === 'NPO' ? 'GradDiff' : a,
    ),
  ]);
  assert.notEqual(r3.status, 0);
  assert.match(r3.stderr, /the recipe is for method NPO, not --method GradDiff/);
});

test('forget --search: Ctrl-C in the second rung, then --resume, ends as an uninterrupted search', async () => {
  const straight = join(dir, 'searched');
  assert.ok(existsSync(join(straight, 'model.safetensors')), "needs the first test's search");
  const out = join(dir, 'interrupted');
  const args = forgetArgs(out, '--search', '4', '--holdout', files.holdout!);
  const stopped = await interruptAt(args, /\[search\] c\d+ \([^)]*\): steps 2 → 4/);
  assert.notEqual(stopped.code, 0, stopped.stderr);
  assert.ok(existsSync(join(out, '.search')), 'the candidates are kept for --resume');
  const refused = runCli(args);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /--resume/);
  const resumed = runCli([...args, '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /\[search\] resuming/);
  assert.ok(
    readFileSync(join(out, 'model.safetensors')).equals(readFileSync(join(straight, 'model.safetensors'))),
    'the same winner, bit for bit',
  );
  const [a, b] = [out, straight].map((d) => JSON.parse(readFileSync(join(d, 'search.json'), 'utf8')));
  assert.deepEqual(
    a.candidates.map((c: { evaluations: unknown }) => c.evaluations),
    b.candidates.map((c: { evaluations: unknown }) => c.evaluations),
  );
  assert.equal(a.winner, b.winner);
});

test('forget --search --criterion forget_quality: each evaluation scores −log10 of the KS p-value against the retain model', () => {
  const out = join(dir, 'fq');
  // Any model stands in for the retain model here: the wiring is what is checked.
  const r = runCli(
    forgetArgs(out, '--search', '2', '--holdout', files.holdout!, '--criterion', 'forget_quality', '--retain-model', join(dir, 'base')),
  );
  assert.equal(r.status, 0, r.stderr);
  const search = JSON.parse(readFileSync(join(out, 'search.json'), 'utf8'));
  assert.equal(search.criterion, 'forget_quality');
  for (const c of search.candidates)
    for (const { terms } of c.evaluations) {
      assert.ok(terms.forget_quality > 0 && terms.forget_quality <= 1, `p ${terms.forget_quality}`);
      assert.equal(terms.search_score, forgetQualityScore(terms.forget_quality, terms.violation));
    }
  assert.equal(JSON.parse(readFileSync(join(out, 'recipe.json'), 'utf8')).criterion.name, 'forget_quality');
});

test('forget --search: bad input is refused before anything is trained or written', async () => {
  const out = join(dir, 'bad');
  // What the command line decides (two runs of the CLI) …
  for (const [extra, message] of [
    [['--search'], /--search needs --holdout FILE/],
    [['--holdout', files.holdout!], /--holdout is for --search/],
  ] as [string[], RegExp][]) {
    const r = runCli(forgetArgs(out, ...extra));
    assert.notEqual(r.status, 0, extra.join(' '));
    assert.match(r.stderr, message);
  }
  // … and what the library checks (in process: the same errors the CLI prints).
  const lines: string[] = [];
  const base = {
    modelDir: target,
    forgetFile: files.forget!,
    retainFile: files.retain!,
    method: 'NPO',
    outDir: out,
    steps: 8,
    batchSize: 2,
    holdoutFile: files.holdout!,
    report: (l: string) => lines.push(l),
  };
  const cases: [Partial<RecipeSearchOptions>, RegExp][] = [
    [{ holdoutFile: files.text! }, /--holdout .*text\.jsonl: expected \{"question","answer"\} rows/],
    [{ criterion: 'forget_quality' }, /--criterion forget_quality needs --retain-model/],
    [{ criterion: 'gold' as never }, /--criterion must be one of two-sided, forget_quality/],
    [{ method: 'WHP' }, /--search needs a gradient method/],
    [{ budget: 0 }, /--search BUDGET must be a positive integer/],
  ];
  for (const [change, message] of cases) await assert.rejects(recipeSearch({ ...base, ...change }), message, JSON.stringify(change));
  assert.ok(!existsSync(out), 'nothing written');
  // A holdout that shares rows with the forget set: a warning with a count, never the rows.
  const plan = await recipeSearch({ ...base, holdoutFile: files.forget!, dryRun: true });
  assert.equal(plan.candidates.length, 8);
  assert.equal(plan.stepBudget, 8 * 2 + 4 * 2 + 2 * 4);
  assert.ok(lines.some((l) => /warning: 4 of the 4 --holdout rows are also in --forget/.test(l)));
  assert.ok(!/Ada|Lyon/.test(lines.join('\n')), 'the rows are never printed');
  assert.ok(!existsSync(out), 'a dry run writes nothing');
});

test('forget --search: the printed re-run command', () => {
  assert.equal(
    rerunArgs(
      ['forget', '--model', 'my model', '--search', '4', '--holdout', 'h.jsonl', '--out', 'o', '--resume', '--config', 'a.json'],
      'o',
    ),
    "forget --model 'my model' --holdout h.jsonl --config o/recipe.json --out OUT2",
  );
  assert.equal(
    rerunArgs(['forget', '--search', '--set', 'beta=0.1', '--out=o'], 'o'),
    'forget --set beta=0.1 --config o/recipe.json --out OUT2',
  );
});
