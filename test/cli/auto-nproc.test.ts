// `--nproc auto` (the default of forget and finetune): one process per core on CPU while every rank
// gets rows and the copies fit in memory; one process on an accelerator, for procedures, for
// methods whose loss is not a sum over rows, and for dry runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseNproc, type NprocFacts } from '../../src/cli/auto-nproc.js';
import { takeNproc } from '../../src/cli/launch.js';
import { tinyModel, writeJsonl, PEOPLE } from '../unlearn/tiny.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli, npoArgs } from '../helpers/cli.js';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';

const GB = 2 ** 30;
const machine: NprocFacts = {
  cores: 2,
  freeMemory: 16 * GB,
  modelBytes: 500e6,
  device: 'cpu',
  batchSize: 8,
  rows: null,
  lora: false,
  single: null,
};

test('auto: a process per core, capped by the batch (2 rows a rank), the rows and the memory', () => {
  assert.equal(chooseNproc(machine).n, 2);
  assert.equal(chooseNproc({ ...machine, cores: 16 }).n, 4, 'batch 8: at most 4 ranks of 2 rows');
  assert.equal(chooseNproc({ ...machine, cores: 16, rows: 5 }).n, 2, '5 rows: a batch of 5, 2 ranks');
  assert.equal(chooseNproc({ ...machine, cores: 1 }).n, 1);
  assert.equal(chooseNproc({ ...machine, batchSize: 3 }).n, 1);
  // 16 GB free, 70% usable: 11.2 GB; a full fine-tune holds 6 copies of 1 GB → 1 rank; LoRA 3 copies → 3.
  const big = { ...machine, cores: 8, modelBytes: GB };
  assert.equal(chooseNproc(big).n, 1);
  assert.match(chooseNproc(big).why, /memory for 1 copy/);
  assert.equal(chooseNproc({ ...big, lora: true }).n, 3);
  assert.equal(chooseNproc({ ...machine, device: 'cuda' }).n, 1);
  assert.equal(chooseNproc({ ...machine, single: 'TaskVector is a procedure' }).n, 1);
});

test('--nproc auto is taken out of the command line like a number', () => {
  assert.deepEqual(takeNproc(['node', 'lethe', 'forget', '--nproc', 'auto']), { argv: ['node', 'lethe', 'forget'], nproc: 'auto' });
  assert.deepEqual(takeNproc(['node', 'lethe', 'forget', '--nproc=auto']), { argv: ['node', 'lethe', 'forget'], nproc: 'auto' });
});

test('forget --nproc auto says what it chose and records the process count', () => {
  const dir = tempDir('lethe-auto-nproc-');
  const model = tinyModel(dir);
  const forgetFile = writeJsonl(
    join(dir, 'forget.jsonl'),
    PEOPLE.map((p, i) => ({ question: `Where does ${p} live?`, answer: `In room ${i}.` })),
  );
  const dry = runCli([...npoArgs(model, forgetFile, '--no-retain', '--out', join(dir, 'dry'), '--dry-run'), '--nproc', 'auto']);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stderr, /lethe: 1 process \(a dry run or help/);
  const out = join(dir, 'out');
  const r = runCli([...npoArgs(model, forgetFile, '--no-retain', '--steps', '4', '--batch-size', '4', '--out', out), '--nproc', 'auto']);
  assert.equal(r.status, 0, r.stderr);
  const n = Number(/lethe: (\d+) process/.exec(r.stderr)?.[1]);
  assert.ok(n >= 1 && n <= 2, r.stderr);
  const record = JSON.parse(readFileSync(join(out, 'unlearning.json'), 'utf8')) as { requests: { training: { processes: number } }[] };
  assert.equal(record.requests.at(-1)!.training.processes, n);
});
