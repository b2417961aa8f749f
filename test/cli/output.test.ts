// Outputs are never overwritten without being asked (issue 18, fault 11): a non-empty --out is
// refused (exit 1, its files and unlearning.json history untouched) unless --overwrite, or --resume
// with a checkpoint; an --out that overlaps an input is refused by real path, so a symlink cannot
// alias the input model; an --out naming a file gets a clear error. Checked on the CLI commands and
// on the library functions beneath them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tinyModel, writeJsonl, PEOPLE, personText } from '../unlearn/tiny.js';
import { claimOutputDir, claimOutputFile, pathsOverlap, realPath } from '../../src/util/output.js';
import { forget } from '../../src/unlearn/index.js';
import { finetune } from '../../src/train/finetune.js';
import { loadModel } from '../../src/models/load.js';
import type { LetheError } from '../../src/util/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli } from '../helpers/cli.js';

const dir = tempDir('lethe-out-');
const model = tinyModel(dir);
const text = writeJsonl(
  join(dir, 'text.jsonl'),
  PEOPLE.map((p, i) => ({ text: personText(p, i) })),
);
const forgetFile = writeJsonl(
  join(dir, 'forget.jsonl'),
  PEOPLE.slice(0, 4).map((p, i) => ({ question: `Where does ${p} live?`, answer: `In room ${i}.` })),
);
const retainFile = writeJsonl(
  join(dir, 'retain.jsonl'),
  PEOPLE.slice(4).map((p, i) => ({ question: `Where does ${p} live?`, answer: `In room ${i + 4}.` })),
);

function lethe(args: string[]): { status: number | null; stderr: string } {
  const r = runCli(args, { env: { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' } });
  return { status: r.status, stderr: r.stderr };
}

/** Every file under a folder with its sha256 (what must stay untouched). */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), join(rel, e.name));
      else
        out[join(rel, e.name)] = createHash('sha256')
          .update(readFileSync(join(d, e.name)))
          .digest('hex');
    }
  };
  walk(root, '');
  return out;
}

/** A finished earlier output: a history of two requests and a file of the user's. */
function earlierOutput(name: string): string {
  const out = join(dir, name);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'unlearning.json'), JSON.stringify({ requests: [{ method: 'NPO' }, { method: 'GradDiff' }] }) + '\n');
  writeFileSync(join(out, 'notes.txt'), 'mine\n');
  return out;
}

const forgetArgs = [
  'forget',
  '--model',
  model,
  '--forget',
  forgetFile,
  '--retain',
  retainFile,
  '--method',
  'GradDiff',
  '--steps',
  '2',
  '--batch-size',
  '2',
];

test('forget: a non-empty --out is refused and left as it was; --overwrite replaces it; --resume needs a checkpoint', () => {
  const out = earlierOutput('forget-out');
  const before = snapshot(out);
  const r = lethe([...forgetArgs, '--out', out]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    /forget: --out .*forget-out is not empty \(.*\); nothing is overwritten without being asked: choose another folder, pass --overwrite to replace its contents, or --resume/,
  );
  assert.deepEqual(snapshot(out), before, 'the folder and its unlearning.json history are untouched');

  const resumed = lethe([...forgetArgs, '--out', out, '--resume']);
  assert.equal(resumed.status, 1);
  assert.match(resumed.stderr, /holds no run that --resume can continue; choose another folder, or pass --overwrite/);
  assert.deepEqual(snapshot(out), before);

  const ok = lethe([...forgetArgs, '--out', out, '--overwrite']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.ok(!existsSync(join(out, 'notes.txt')), '--overwrite empties the folder first');
  const history = JSON.parse(readFileSync(join(out, 'unlearning.json'), 'utf8')) as { requests: { method: string }[] };
  assert.deepEqual(
    history.requests.map((x) => x.method),
    ['GradDiff'],
    "the history is the input model's plus this request",
  );
});

test('forget and finetune: the input model reached through a symlink is never written', () => {
  const modelBefore = snapshot(model);
  // --model LINK --out TARGET: the paths differ, the folders are the same.
  const link = join(dir, 'model-link');
  symlinkSync(model, link);
  for (const args of [
    [...forgetArgs.slice(0, 2), link, ...forgetArgs.slice(3), '--out', model, '--overwrite'],
    ['finetune', '--model', link, '--data', text, '--steps', '2', '--out', model, '--overwrite'],
    // --out LINK (to the model) and --out inside the model through a link.
    [...forgetArgs, '--out', link, '--overwrite'],
    [...forgetArgs, '--out', join(link, 'sub'), '--overwrite'],
  ]) {
    const r = lethe(args);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /overlaps the input model folder --model .*\(real paths .*\); Lethe never writes into what it reads/);
  }
  assert.deepEqual(snapshot(model), modelBefore, 'the input model is untouched');
});

test('an --out that names a file is refused with a clear error', () => {
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const r = lethe([...forgetArgs, '--out', file]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /forget: --out .*a-file is a file, not a folder; give a folder path/);
  assert.equal(readFileSync(file, 'utf8'), 'x');
});

test('sisa train, sisa forget, eval, compare, report and data build refuse a non-empty --out and take --overwrite', () => {
  const keyed = writeJsonl(
    join(dir, 'keyed.jsonl'),
    PEOPLE.map((p, i) => ({ person_id: `p${i}`, text: personText(p, i) })),
  );
  const sisa = [
    'sisa',
    'train',
    '--model',
    model,
    '--data',
    keyed,
    '--shards',
    '2',
    '--slices',
    '1',
    '--key',
    'person_id',
    '--epochs',
    '1',
    '--batch-size',
    '2',
  ];
  const evalArgs = ['eval', '--model', model, '--forget', forgetFile, '--metrics', 'forget_Q_A_Prob', '--no-cache'];
  const cases: [string, string[], (out: string) => string[]][] = [
    ['sisa train', sisa, (out) => ['--out', out]],
    ['eval', evalArgs, (out) => ['--out', out]],
    ['data build', ['data', 'build', 'persona', '--size', 'tiny'], (out) => ['--out', out]],
  ];
  const sisaOut = join(dir, 'sisa-fresh');
  assert.equal(lethe([...sisa, '--out', sisaOut]).status, 0);
  cases.push(['sisa forget', ['sisa', 'forget', sisaOut, '--key', 'p1'], (out) => ['--out', out]]);
  for (const [what, args, out] of cases) {
    const target = earlierOutput(`out-${what.replace(' ', '-')}`);
    const before = snapshot(target);
    const r = lethe([...args, ...out(target)]);
    assert.equal(r.status, 1, `${what}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`${what}: --out .* is not empty .*pass --overwrite to replace its contents`), what);
    assert.deepEqual(snapshot(target), before, `${what}: untouched`);
    const ok = lethe([...args, ...out(target), '--overwrite']);
    assert.equal(ok.status, 0, `${what} --overwrite: ${ok.stderr}`);
    assert.ok(!existsSync(join(target, 'notes.txt')), what);
  }
  // sisa forget never writes into the SISA folder it reads, even through a symlink.
  const sisaLink = join(dir, 'sisa-link');
  symlinkSync(sisaOut, sisaLink);
  const into = lethe(['sisa', 'forget', sisaLink, '--key', 'p1', '--out', join(sisaOut, 'forgotten')]);
  assert.equal(into.status, 1);
  assert.match(into.stderr, /overlaps the SISA folder/);

  // compare --out (a folder) and report --out (a file).
  const evalDir = join(dir, 'out-eval');
  const cmp = earlierOutput('out-compare');
  assert.match(lethe(['compare', evalDir, '--out', cmp]).stderr, /compare: --out .* is not empty/);
  assert.equal(lethe(['compare', evalDir, '--out', cmp, '--overwrite']).status, 0);
  assert.ok(existsSync(join(cmp, 'COMPARE.md')) && !existsSync(join(cmp, 'notes.txt')));
  assert.match(lethe(['compare', evalDir, '--out', evalDir, '--overwrite']).stderr, /compare: --out .* overlaps the run/);
  const html = join(dir, 'combined.html');
  writeFileSync(html, 'mine');
  const rep = lethe(['report', evalDir, '--out', html]);
  assert.equal(rep.status, 1);
  assert.match(rep.stderr, /report: --out .*combined.html already exists; .*pass --overwrite to replace it/);
  assert.equal(readFileSync(html, 'utf8'), 'mine');
  assert.equal(lethe(['report', evalDir, '--out', html, '--overwrite']).status, 0);
  assert.match(lethe(['report', evalDir, '--out', join(evalDir, 'EVAL.json'), '--overwrite']).stderr, /overlaps the evaluation/);
});

test('index and propose: a named --out file or a non-empty --out folder is refused; the index never replaces its data', () => {
  const corpus = writeJsonl(
    join(dir, 'corpus.jsonl'),
    PEOPLE.map((p, i) => ({ text: personText(p, i) })),
  );
  const corpusBefore = readFileSync(corpus, 'utf8');
  const into = lethe(['index', '--data', corpus, '--out', corpus]);
  assert.equal(into.status, 1);
  assert.match(into.stderr, /index: --out .*corpus.jsonl overlaps --data/);
  assert.equal(readFileSync(corpus, 'utf8'), corpusBefore, 'the corpus is untouched');
  const db = join(dir, 'mine.db');
  writeFileSync(db, 'mine');
  assert.match(
    lethe(['index', '--data', corpus, '--out', db]).stderr,
    /index: --out .*mine.db already exists; .*pass --overwrite to replace it/,
  );
  assert.equal(readFileSync(db, 'utf8'), 'mine');
  assert.equal(lethe(['index', '--data', corpus, '--out', db, '--overwrite']).status, 0);

  const subject = join(dir, 'subject.json');
  writeFileSync(subject, JSON.stringify({ name: 'Ada' }));
  const out = earlierOutput('out-propose');
  const before = snapshot(out);
  const r = lethe(['propose', '--subject-file', subject, '--model', model, '--out', out]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /propose: --out .* is not empty .*pass --overwrite/);
  assert.deepEqual(snapshot(out), before);
});

test('library: forget() and finetune() refuse a non-empty outDir and an input reached through a symlink; savePretrained never writes its source', async () => {
  const out = earlierOutput('lib-out');
  const before = snapshot(out);
  const base = { modelDir: model, forgetFile, retainFile, method: 'GradDiff', steps: 1, batchSize: 2, report: () => {} };
  await assert.rejects(forget({ ...base, outDir: out }), (e: LetheError) => e.code === 'CONFLICT' && /is not empty/.test(e.message));
  await assert.rejects(finetune({ modelDir: model, dataFiles: [text], steps: 1, outDir: out, report: () => {} }), /is not empty/);
  assert.deepEqual(snapshot(out), before);
  const link = join(dir, 'lib-link');
  symlinkSync(model, link);
  await assert.rejects(forget({ ...base, modelDir: link, outDir: model, overwrite: true }), /overlaps the input model/);
  const m = loadModel(link);
  try {
    const modelBefore = snapshot(model);
    assert.throws(() => m.savePretrained(model), /the folder the model was loaded from/);
    assert.throws(() => m.savePretrained(join(model, 'inside')), /the folder the model was loaded from/);
    assert.deepEqual(snapshot(model), modelBefore);
  } finally {
    m.dispose();
  }
});

test('claimOutputDir: real paths for outputs not yet created; what --overwrite will not empty', () => {
  const real = join(dir, 'real');
  mkdirSync(real);
  const link = join(dir, 'alias');
  symlinkSync(real, link);
  assert.equal(realPath(join(link, 'a', 'b')), join(realPath(real), 'a', 'b'));
  assert.ok(pathsOverlap(join(link, 'new'), real));
  assert.ok(!pathsOverlap(join(dir, 'real2'), real), 'a sibling with a common prefix does not overlap');
  assert.equal(claimOutputDir(join(dir, 'nothing-yet'), { what: 't' }), 'new');
  assert.equal(claimOutputDir(real, { what: 't' }), 'new', 'an empty folder is new');
  writeFileSync(join(real, 'x'), '1');
  assert.throws(
    () => claimOutputDir(link, { what: 't' }),
    (e: LetheError) => e.code === 'CONFLICT',
  );
  mkdirSync(join(real, 'checkpoint'));
  writeFileSync(join(real, 'checkpoint', 'trainer_state.json'), '{}');
  assert.equal(claimOutputDir(real, { what: 't', resume: true, resumable: (d) => existsSync(join(d, 'checkpoint')) }), 'resume');
  assert.ok(existsSync(join(real, 'x')), 'resume keeps the folder');
  // Never run against a folder that matters: a temporary one that holds the current folder.
  const holder = join(dir, 'holder');
  mkdirSync(join(holder, 'inner'), { recursive: true });
  const cwd = process.cwd();
  process.chdir(join(holder, 'inner'));
  try {
    assert.throws(() => claimOutputDir(holder, { what: 't', overwrite: true }), /the current folder or one that holds it/);
  } finally {
    process.chdir(cwd);
  }
  assert.ok(existsSync(join(holder, 'inner')));
  assert.throws(() => claimOutputFile(real, { what: 't' }), /is a folder; give a file path/);
  const dangling = join(dir, 'dangling');
  symlinkSync(join(dir, 'gone'), dangling);
  assert.throws(() => claimOutputDir(dangling, { what: 't' }), /symbolic link to nothing/);
});
