// No silent degradation: a method run without the retain data its retain term needs says what is
// dropped (or is told --no-retain), and a run that cannot do what was asked stops with an error
// naming what happened and what to change: answers cut away by --max-length, a gradient of
// exactly zero step after step, weights that explode (GradAscent at lr 1e6, also through the CLI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { forget } from '../../src/unlearn/index.js';
import { finetune } from '../../src/train/finetune.js';
import { tinyModel, writeJsonl, PEOPLE } from './tiny.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli } from '../helpers/cli.js';

const dir = tempDir('lethe-forget-guards-');
const model = tinyModel(dir);
const rows = (n: number, offset: number) =>
  Array.from({ length: n }, (_, i) => ({
    question: `Where does ${PEOPLE[(i + offset) % PEOPLE.length]} live?`,
    answer: `In room ${i + offset}.`,
  }));
const forgetFile = writeJsonl(join(dir, 'forget.jsonl'), rows(4, 0));
const retainFile = writeJsonl(join(dir, 'retain.jsonl'), rows(4, 4));
let outs = 0;
const out = () => join(dir, `out-${outs++}`);

test('a method with a retain term run without --retain warns what is dropped; --no-retain runs it on purpose, silently', async () => {
  const lines: string[] = [];
  const base = { modelDir: model, forgetFile, method: 'NPO', steps: 2, batchSize: 2, lr: 1e-4, report: (l: string) => lines.push(l) };
  await forget({ ...base, outDir: out() });
  const warning = lines.find((l) => /warning/.test(l));
  assert.ok(warning, 'a warning');
  assert.match(
    warning,
    /no --retain given, so NPO's retain term \(alpha 1 × KL to the starting model on retain rows\) is dropped.*--no-retain/,
  );
  assert.ok(!PEOPLE.some((p) => warning.includes(p)), 'the warning quotes no forget data');

  lines.length = 0;
  await forget({ ...base, outDir: out(), noRetain: true });
  await forget({ ...base, outDir: out(), retainFile });
  await forget({ ...base, outDir: out(), args: { alpha: 0 } }); // a retain term of weight 0 loses nothing
  await forget({ ...base, outDir: out(), method: 'GradAscent' }); // no retain term at all
  assert.deepEqual(
    lines.filter((l) => /warning/.test(l)),
    [],
  );
  await assert.rejects(forget({ ...base, outDir: out(), retainFile, noRetain: true }), /--retain and --no-retain contradict each other/);
});

test('answers cut away by --max-length stop forget (and finetune) with the rows and the fix named', async () => {
  const base = { modelDir: model, forgetFile, retainFile, method: 'NPO', steps: 2, batchSize: 2, report: () => {} };
  await assert.rejects(forget({ ...base, outDir: out(), maxLength: 4 }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'BAD_INPUT');
    assert.match(
      err.message,
      /4 of 4 forget rows \(rows 1, 2, 3, 4\) keep no answer or text token after cutting to --max-length 4: nothing is left for unlearning\. Raise --max-length/,
    );
    return true;
  });
  // One row whose question alone is longer than the model's context (48 tokens): it alone is cut
  // away, which a warning says (in the forget data and in the retain data), and the run goes on.
  const long = writeJsonl(join(dir, 'forget-long.jsonl'), [
    ...rows(3, 0),
    { question: `Where does ${'the one who lives far away '.repeat(4)}live?`, answer: 'In room 9.' },
  ]);
  const lines: string[] = [];
  await forget({ ...base, forgetFile: long, retainFile: long, outDir: out(), report: (l: string) => lines.push(l) });
  const warned = (set: string, lost: string) =>
    lines.some((l) =>
      new RegExp(
        `warning: 1 of 4 ${set} rows \\(row 4\\) keep no answer or text token after cutting to the model's context \\(48 tokens\\); ${lost} does not reach them`,
      ).test(l),
    );
  assert.ok(warned('forget', 'unlearning') && warned('retain', 'the retain term'), lines.join('\n'));
  await assert.rejects(
    finetune({ modelDir: model, dataFiles: [forgetFile], outDir: out(), steps: 2, maxLength: 4, report: () => {} }),
    /finetune: 4 of 4 rows .* --max-length 4: nothing would train/,
  );
});

test('a gradient of exactly zero for 20 steps (or for a whole shorter run) stops the run', async () => {
  // gamma 0 and alpha 0: the loss is 0 × the forget term, whose gradient is exactly 0.
  const base = {
    modelDir: model,
    forgetFile,
    method: 'NPO',
    batchSize: 2,
    lr: 1e-3,
    noRetain: true,
    args: { gamma: 0, alpha: 0 },
    report: () => {},
  };
  const o = out();
  await assert.rejects(forget({ ...base, steps: 50, outDir: o }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'BAD_INPUT');
    assert.match(
      err.message,
      /gradient was exactly 0 for 20 consecutive steps \(1 to 20\): nothing is training\. Check that the data keeps tokens/,
    );
    return true;
  });
  assert.ok(!existsSync(join(o, 'model.safetensors')), 'no output model');
  const log = readFileSync(join(o, 'train_log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(
    log.some((e) => e.step === 20 && /gradient exactly 0/.test(e.stopped)),
    'the log says where it stopped',
  );
  await assert.rejects(forget({ ...base, steps: 5, outDir: out() }), /exactly 0 for 5 consecutive steps/);
  // A real gradient trains normally.
  await forget({ ...base, args: {}, steps: 3, outDir: out() });
});

test('exploding weights (GradAscent at lr 1e6) stop the run and roll back', async () => {
  await assert.rejects(
    forget({ modelDir: model, forgetFile, method: 'GradAscent', steps: 5, batchSize: 2, lr: 1e6, outDir: out(), report: () => {} }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'NON_FINITE_LOSS');
      assert.match(
        err.message,
        /the trainable weights (exploded \(norm .*, over 10× its .* at the start\)|became non-finite).* at step 1; stopped and rolled back to step 0.*Lower the learning rate \(--lr, now 1000000\)/,
      );
      return true;
    },
  );
});

test('lethe forget exits non-zero on GradAscent at lr 1e6 and on answers cut away; --no-retain silences the warning', () => {
  const lethe = (args: string[]) => runCli(['forget', '--model', model, '--forget', forgetFile, '--batch-size', '2', ...args]);
  const exploded = lethe(['--method', 'GradAscent', '--lr', '1e6', '--out', out()]);
  assert.notEqual(exploded.status, 0);
  assert.match(exploded.stderr, /trainable weights (exploded|became non-finite)/);
  const cut = lethe(['--method', 'NPO', '--retain', retainFile, '--max-length', '4', '--out', out()]);
  assert.notEqual(cut.status, 0);
  assert.match(cut.stderr, /keep no answer or text token after cutting to --max-length 4/);
  const quiet = lethe(['--method', 'NPO', '--steps', '1', '--no-retain', '--out', out()]);
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /warning/);
});
