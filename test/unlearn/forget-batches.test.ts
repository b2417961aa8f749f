// Which rows forget() trains on: every forget row in every epoch (a set that batch size does not
// divide included), the retain stream beside it using every retain row once per pass of its own,
// a run interrupted and resumed on such a set ending with the uninterrupted run's weights, and 2
// data-parallel processes splitting its uneven batches giving the 1-process run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { torch } from '../../src/index.js';
import { forget, defineMethod } from '../../src/unlearn/index.js';
import { meanNll } from '../../src/unlearn/losses.js';
import { tinyModel, writeJsonl, PEOPLE } from './tiny.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli } from '../helpers/cli.js';

const dir = tempDir('lethe-forget-batches-');
const model = tinyModel(dir);

const qa = (n: number, offset: number) =>
  Array.from({ length: n }, (_, i) => {
    const k = i + offset;
    // Answers of several lengths, so length bucketing has something to sort.
    return { question: `Where does ${PEOPLE[k % PEOPLE.length]} ${k} live?`, answer: `In room ${k}${' and hall'.repeat(k % 5)}.` };
  });

// A method that trains like GradDiff's descent on both sets and records the rows of each step.
const seen: { forget: number[]; retain: number[] }[] = [];
defineMethod({
  name: 'TestRowSpy',
  description: 'test only: records the forget and retain rows of each step',
  args: z.strictObject({}),
  needs: () => ({ retain: 'optional' }),
  loss: (ctx, b) => {
    seen.push({ forget: [...b.forget.rows], retain: [...(b.retain?.rows ?? [])] });
    const f = meanNll(ctx.model, b.forget);
    return { loss: b.retain ? f.add(meanNll(ctx.model, b.retain)) : f };
  },
});

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('forget trains on every forget row in each of 3 epochs (20 rows at batch size 8), and the retain stream on every retain row', async () => {
  const forgetFile = writeJsonl(join(dir, 'forget20.jsonl'), qa(20, 0));
  const retainFile = writeJsonl(join(dir, 'retain13.jsonl'), qa(13, 100));
  seen.length = 0;
  const r = await forget({
    modelDir: model,
    forgetFile,
    retainFile,
    method: 'TestRowSpy',
    epochs: 3,
    batchSize: 8,
    lr: 1e-3,
    outDir: join(dir, 'spy'),
    report: () => {},
  });
  const forgetRows = seen.map((s) => s.forget);
  const never = range(20).filter((i) => !forgetRows.flat().includes(i));
  assert.deepEqual(never, [], `forget rows never trained on in 3 epochs: ${never}`);
  // 3 batches an epoch (7, 7, 6 rows), each epoch every row once.
  assert.equal(r.steps, 9);
  for (let e = 0; e < 3; e++)
    assert.deepEqual(sorted(forgetRows.slice(3 * e, 3 * e + 3).flat()), range(20), `epoch ${e}: every forget row once`);
  assert.notDeepEqual(
    forgetRows.slice(0, 3).map(sorted).sort(),
    forgetRows.slice(3, 6).map(sorted).sort(),
    'epochs batch other rows together',
  );
  // The retain stream: passes of 2 steps (7 + 6 rows), each a new shuffle of all 13 retain rows.
  const retainRows = seen.map((s) => s.retain);
  for (let p = 0; p < 4; p++)
    assert.deepEqual(sorted(retainRows.slice(2 * p, 2 * p + 2).flat()), range(13), `retain pass ${p}: every retain row once`);
});

test("a resumed run on a set the batch size does not divide ends with the uninterrupted run's weights", async () => {
  const forgetFile = writeJsonl(join(dir, 'forget5.jsonl'), qa(5, 0));
  const retainFile = writeJsonl(join(dir, 'retain3.jsonl'), qa(3, 100));
  const base = {
    modelDir: model,
    forgetFile,
    retainFile,
    method: 'NPO',
    epochs: 3,
    batchSize: 2,
    lr: 1e-3,
    seed: 4,
    checkpointEvery: 4,
    report: () => {},
  };
  const a = await forget({ ...base, outDir: join(dir, 'a') });
  assert.equal(a.steps, 9, '3 batches (2, 2, 1 rows) an epoch');
  await assert.rejects(
    forget({
      ...base,
      outDir: join(dir, 'b'),
      report: (l) => {
        if (/step 6\//.test(l)) throw new Error('simulated crash');
      },
    }),
    /simulated crash/,
  );
  const b = await forget({ ...base, outDir: join(dir, 'b'), resume: true });
  assert.equal(b.loop.resumedFrom, 4);
  const sha = (d: string) =>
    createHash('sha256')
      .update(readFileSync(join(d, 'model.safetensors')))
      .digest('hex');
  assert.equal(sha(join(dir, 'b')), sha(join(dir, 'a')), 'resumed → identical weights');
});

test('2 data-parallel processes split batches of 3 and 2 rows and give the 1-process run', () => {
  const forgetFile = writeJsonl(join(dir, 'forget5dp.jsonl'), qa(5, 0));
  const retainFile = writeJsonl(join(dir, 'retain7dp.jsonl'), qa(7, 100));
  const args = [
    'forget',
    '--model',
    model,
    '--forget',
    forgetFile,
    '--retain',
    retainFile,
    '--method',
    'NPO',
    '--epochs',
    '2',
    '--batch-size',
    '4',
    '--lr',
    '1e-3',
  ];
  const run = (out: string, extra: string[] = []) =>
    runCli([...args, '--out', join(dir, out), ...extra], { env: { LETHE_DIST_TIMEOUT: '20' } });
  const one = run('dp1');
  assert.equal(one.status, 0, one.stderr);
  const two = run('dp2', ['--nproc', '2']);
  assert.equal(two.status, 0, two.stderr);
  const losses = (out: string) =>
    readFileSync(join(dir, out, 'train_log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((e) => e.loss !== undefined)
      .map((e) => e.loss as number);
  const [a, b] = [losses('dp1'), losses('dp2')];
  assert.equal(a.length, 4, '2 epochs of 2 batches (3 and 2 rows)');
  assert.equal(b.length, a.length);
  a.forEach((x, i) =>
    assert.ok(Math.abs(x - b[i]!) <= 1e-5 * Math.max(1, Math.abs(x)), `step ${i + 1}: loss ${b[i]} (2 processes) vs ${x}`),
  );
  const w = (out: string) => torch.loadSafetensors(join(dir, out, 'model.safetensors')).tensors;
  const [x, y] = [w('dp1'), w('dp2')];
  let worst = 0;
  for (const k of Object.keys(x))
    worst = Math.max(
      worst,
      torch.tidy(() => x[k]!.sub(y[k]!).abs().max().item()),
    );
  torch.dispose([...Object.values(x), ...Object.values(y)]);
  assert.ok(worst <= 1e-5, `final weights differ by ${worst}`);
});
