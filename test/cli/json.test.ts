// Machine-readable results: `forget --json` and `eval --json` print one JSON object on stdout (the log
// stays on stderr), and --help marks the required options and shows the training defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tinyModel, writeJsonl, PEOPLE } from '../unlearn/tiny.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli, npoArgs } from '../helpers/cli.js';
import { clock } from '../../src/train/loop.js';
import { modelFingerprint } from '../../src/util/model-fingerprint.js';

const dir = tempDir('lethe-json-');
const model = tinyModel(dir);
const forgetFile = writeJsonl(
  join(dir, 'forget.jsonl'),
  PEOPLE.slice(0, 4).map((p, i) => ({ question: `Where does ${p} live?`, answer: `In room ${i}.` })),
);

/** `lethe forget` with NPO on the forget file, without retain data, plus `extra`. */
const forgetNpo = (...extra: string[]) => runCli(npoArgs(model, forgetFile, '--no-retain', ...extra));

test('forget --json: the result object, the same as unlearning.json records', () => {
  const out = join(dir, 'forgot');
  const r = forgetNpo('--steps', '3', '--out', out, '--json', '--profile');
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  // Where the time went: every phase of the run, summing to its wall time (a clock read at each boundary).
  const profile = j.profile as Record<string, number>;
  for (const phase of ['load model', 'encode data', 'data', 'forward + loss', 'backward', 'optimizer', 'save'])
    assert.ok(typeof profile[phase] === 'number' && profile[phase] >= 0, `profile has '${phase}': ${JSON.stringify(profile)}`);
  const sum = Object.values(profile).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - (j.seconds as number)) < 0.05 + 0.05 * (j.seconds as number), `phases ${sum} s ≈ run ${j.seconds} s`);
  assert.match(r.stderr, /\[forget\] profile: [\d.]+ s\n( {2}.+ +[\d.]+ s +[\d.]+%\n?)+/);
  assert.equal(j.method, 'NPO');
  assert.equal(j.steps, 3);
  assert.equal(j.outDir, out);
  const record = (JSON.parse(readFileSync(join(out, 'unlearning.json'), 'utf8')) as { requests: Record<string, unknown>[] }).requests.at(
    -1,
  )!;
  assert.deepEqual(j.args, record.args);
  assert.equal(j.parametersChanged, record.parametersChanged);
  assert.ok(Number.isFinite(j.finalLoss as number));
  assert.equal(record.inputModelSha256, modelFingerprint(model).sha256, 'unlearning.json names the input model by its fingerprint');
  assert.match(r.stderr, /\[forget\] NPO: 3 steps in/, 'the log is on stderr');
  assert.match(r.stderr, /step 1\/3 .* \d+:\d\d elapsed {2}ETA \d+:\d\d\n/, 'progress lines show the elapsed time and an ETA');
  assert.match(r.stderr, /step 3\/3 .* \d+:\d\d elapsed\n/, 'the last one no ETA');
});

test('clock: m:ss, and h:mm:ss from an hour', () => {
  assert.deepEqual(
    [clock(0), clock(59.6), clock(61), clock(3599), clock(3600), clock(7322)],
    ['0:00', '1:00', '1:01', '59:59', '1:00:00', '2:02:02'],
  );
});

test('eval --json: {out, seconds, summary} with the numbers of SUMMARY.json', () => {
  const out = join(dir, 'eval');
  const r = runCli([
    'eval',
    '--model',
    model,
    '--forget',
    forgetFile,
    '--metrics',
    'forget_Q_A_Prob',
    '--out',
    out,
    '--json',
    '--no-cache',
    '--profile',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { out: string; seconds: number; summary: Record<string, number>; profile: Record<string, number> };
  // The profile charges each need to its model and set; the rest is named, so the parts add up to the run.
  assert.ok(j.profile['model: token statistics of forget']! >= 0, JSON.stringify(j.profile));
  const sum = Object.values(j.profile).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - j.seconds) < 1e-6 + 1e-9 * j.seconds, `profile ${sum} s = run ${j.seconds} s`);
  assert.match(r.stderr, /\[eval\] profile: [\d.]+ s\n( {2}.+\n)* {2}model: token statistics of forget +[\d.]+ s/);
  assert.equal(j.out, out);
  const summary = JSON.parse(readFileSync(join(out, 'SUMMARY.json'), 'utf8')) as Record<string, number>;
  assert.equal(j.summary.forget_Q_A_Prob, summary.forget_Q_A_Prob);
});

test('--help marks required options and shows the training defaults', () => {
  const help = runCli(['forget', '--help']).stdout.replace(/\s+/g, ' ');
  for (const flag of ['--model <dir>', '--forget <file>', '--method <name>', '--out <dir>'])
    assert.match(help, new RegExp(`${flag.replace(/[<>]/g, '.')} [^-]*\\(required\\)`), flag);
  assert.match(
    help,
    /--epochs <n> passes over the forget data \(default: the method's own, .*NPO 10; WHP until its stopping rule, at most 20; 5 for methods without one/,
  );
  assert.match(help, /--lr <x> peak learning rate.*\(default: the method's own: NPO 3e-4, WHP 1e-4; 1e-4 for methods without one\)/);
  assert.match(help, /--batch-size <n> .*\(default: 8\)/);
  assert.match(help, /--max-length <n> .*\(default: the model's context\)/);
  assert.doesNotMatch(help, /--retain <file> [^-]*\(required\)/);
  assert.match(help, /--set <key=value> a method argument .*\(default: none\)/);
  assert.doesNotMatch(help, /\(default: \{\}\)/, 'no option shows an empty object as its default');
});

test("lethe methods: each method's training defaults and where they come from", () => {
  const r = runCli(['methods']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /NPO .*\n.*arguments: .*retain_loss_type="KL" beta=0.15\n +training: lr 0.0003, 10 epochs \(measured here .*defaults\.js/,
  );
  assert.match(r.stdout, /GradAscent .*\n +training: lr 0.0001, 5 epochs \(generic defaults, not tuned for this method/);
  assert.match(r.stdout, /Distill .*\n(.*\n)?.*training: sets its own steps and lr/);
  assert.match(
    r.stdout,
    /WHP .*\n.*\n +training: lr 0.0001, 20 epochs \(at most 20 epochs: it stops by stop_at\. Measured here .*book\.js/,
  );
  const json = JSON.parse(runCli(['methods', '--json']).stdout) as { name: string; training: { lr: number; source: string } | null }[];
  assert.equal(json.find((m) => m.name === 'NPO')!.training!.lr, 3e-4);
  assert.equal(json.find((m) => m.name === 'WHP')!.training!.lr, 1e-4);
  assert.equal(json.find((m) => m.name === 'Distill')!.training, null);
});

test('forget --dry-run: checks the inputs, prints the plan, trains and writes nothing', () => {
  const fresh = join(dir, 'dry-new');
  const r = forgetNpo('--out', fresh, '--dry-run', '--json');
  assert.equal(r.status, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as {
    steps: number;
    batchSize: number;
    lr: number;
    rows: { forget: number };
    targetTokens: { forget: number };
    out: { use: string };
  };
  // 4 rows at the default batch size 8 (capped at the rows): 1 step an epoch, NPO's own 10 epochs at its lr 3e-4.
  assert.deepEqual([plan.rows.forget, plan.batchSize, plan.steps, plan.lr, plan.out.use], [4, 4, 10, 3e-4, 'a new folder']);
  // A method without defaults of its own: the generic 5 epochs at 1e-4; the user's values win over both.
  const ga = JSON.parse(
    runCli(['forget', '--model', model, '--forget', forgetFile, '--method', 'GradAscent', '--out', fresh, '--dry-run', '--json']).stdout,
  ) as { steps: number; lr: number };
  assert.deepEqual([ga.steps, ga.lr], [5, 1e-4]);
  const mine = JSON.parse(forgetNpo('--out', fresh, '--dry-run', '--json', '--epochs', '2', '--lr', '5e-5').stdout) as {
    steps: number;
    lr: number;
  };
  assert.deepEqual([mine.steps, mine.lr], [2, 5e-5]);
  assert.ok(plan.targetTokens.forget > 4);
  assert.ok(!existsSync(fresh), 'nothing written');

  const full = join(dir, 'dry-full');
  mkdirSync(full);
  writeFileSync(join(full, 'keep.txt'), 'mine');
  const o = forgetNpo('--out', full, '--dry-run', '--overwrite');
  assert.equal(o.status, 0, o.stderr);
  assert.match(o.stderr, /output {5}.*dry-full: replaced \(its 1 entries deleted first\)/);
  assert.equal(readFileSync(join(full, 'keep.txt'), 'utf8'), 'mine', 'a dry run with --overwrite deletes nothing');

  const bad = runCli(npoArgs(model, forgetFile, '--set', 'beta=abc', '--out', fresh, '--dry-run'));
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /'beta' must be a number, got 'abc'/);
});
