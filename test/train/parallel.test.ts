// Data-parallel training on libtorch's c10d (Gloo): 2 processes give the 1-process result on the
// same global batch (loss trajectory and final weights) for finetune, forget and train, a killed rank fails the other with a
// clear error instead of a hang, and --resume then finishes the job.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import * as torch from '../../src/torch/index.js';
import { repoRoot } from '../helpers/fixtures.js';
import { freePort } from '../../src/util/net.js';
import { tinyModel, writeJsonl, PEOPLE, personText } from '../unlearn/tiny.js';
import { buildSuite } from '../../src/data/index.js';
import { skipWithoutDictd } from '../helpers/dictd.js';
import { tempDir } from '../helpers/tmp.js';
import { CLI, runCli } from '../helpers/cli.js';

const skip = skipWithoutDictd();

const dir = tempDir('lethe-dp-');
const model = tinyModel(dir);
const text = writeJsonl(
  join(dir, 'text.jsonl'),
  PEOPLE.flatMap((p, i) => [0, 1, 2].map((k) => ({ text: personText(p, i + k) }))),
);
const forgetFile = writeJsonl(
  join(dir, 'forget.jsonl'),
  PEOPLE.slice(0, 4).map((p, i) => ({ question: `Where does ${p} live?`, answer: `In room ${i}.` })),
);
const retainFile = writeJsonl(
  join(dir, 'retain.jsonl'),
  PEOPLE.slice(4).map((p, i) => ({ question: `Where does ${p} live?`, answer: `In room ${i + 4}.` })),
);

// Every run here, one process or a rank, uses one thread: with another thread count OpenBLAS splits a
// matmul differently and some kernel families (Haswell's) then sum in another order, a difference
// that would come on top of (or, for SISA, instead of) the one under test. `--nproc 2` gives its
// ranks cores/2 threads, so LETHE_THREADS pins theirs too.
const oneThread = { LETHE_THREADS: '1', OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };

function lethe(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stderr: string } {
  const r = runCli(args, { env: { LETHE_DIST_TIMEOUT: '20', ...oneThread, ...env } });
  return { status: r.status, stderr: r.stderr };
}

function steps(out: string): { step: number; loss: number; forget?: number; retain?: number }[] {
  return readFileSync(join(out, 'train_log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((e) => e.loss !== undefined);
}

function maxWeightDiff(a: string, b: string): number {
  const x = torch.loadSafetensors(join(a, 'model.safetensors')).tensors;
  const y = torch.loadSafetensors(join(b, 'model.safetensors')).tensors;
  try {
    assert.deepEqual(Object.keys(x).sort(), Object.keys(y).sort());
    let worst = 0;
    for (const k of Object.keys(x))
      worst = Math.max(
        worst,
        torch.tidy(() => x[k]!.sub(y[k]!).abs().max().item()),
      );
    return worst;
  } finally {
    torch.dispose([...Object.values(x), ...Object.values(y)]);
  }
}

/**
 * Data parallelism cannot be bit for bit: the ranks' gradient is the sum of two half-batch sums, a
 * float32 sum in another order (a few ulps, ~1e-7 relative). The losses are sums over many tokens, so
 * they stay within 1e-5 (relative above 1). The weights need another measure: AdamW's first steps
 * move each weight by about lr·g/(|g| + 1e-8), so a coordinate whose gradient is itself a few ulps
 * from 0 can flip sign and move by up to 2·lr (seen: one weight 1.2e-5 apart after 3 steps of UNDIAL
 * at lr 1e-3). A rare such coordinate barely changes the whole update, hence the weights' test below.
 */
const close = (x: number, y: number) => Math.abs(x - y) <= 1e-5 * Math.max(1, Math.abs(y));

/**
 * ‖one − two‖ / ‖one − start‖ over every weight: the two runs' disagreement relative to how far
 * training moved the weights. Reduction-order noise, even with a few flipped near-zero coordinates,
 * stays well below 1e-3 (measured 3e-7 to 9e-5 across these methods); a real bug disagrees on most
 * weights (training on half the global batch, as if a rank's share were lost, measured 0.59).
 */
function relativeWeightDiff(one: string, two: string, start: string): number {
  const load = (d: string) => torch.loadSafetensors(join(d, 'model.safetensors')).tensors;
  const [x, y, s] = [load(one), load(two), load(start)];
  try {
    assert.deepEqual(Object.keys(x).sort(), Object.keys(y).sort());
    let apart = 0;
    let moved = 0;
    for (const k of Object.keys(x)) {
      apart += torch.tidy(() => x[k]!.sub(y[k]!).pow(2).sum().item());
      moved += torch.tidy(() => x[k]!.sub(s[k]!).pow(2).sum().item());
    }
    return Math.sqrt(apart / moved);
  } finally {
    torch.dispose([...Object.values(x), ...Object.values(y), ...Object.values(s)]);
  }
}

function assertSameRun(one: string, two: string, parts: string[] = []): void {
  const a = steps(one);
  const b = steps(two);
  assert.equal(b.length, a.length);
  for (let i = 0; i < a.length; i++) {
    assert.equal(b[i]!.step, a[i]!.step);
    assert.ok(close(b[i]!.loss, a[i]!.loss), `step ${a[i]!.step}: loss ${b[i]!.loss} (2 processes) vs ${a[i]!.loss} (1 process)`);
    for (const p of parts) assert.ok(close((b[i] as never)[p], (a[i] as never)[p]), `step ${a[i]!.step}: ${p} differs`);
  }
  // Training really moved the weights, and both runs moved them the same way.
  assert.ok(maxWeightDiff(one, model) > 1e-4, 'the fine-tune changed nothing');
  const diff = relativeWeightDiff(one, two, model);
  assert.ok(diff <= 1e-3, `final weights differ by ${diff} of the training's move`);
}

test('finetune: 2 Gloo processes give the 1-process loss trajectory and weights on the same global batch', () => {
  const args = ['finetune', '--model', model, '--data', text, '--steps', '6', '--batch-size', '4', '--lr', '1e-3'];
  const one = join(dir, 'ft1');
  const two = join(dir, 'ft2');
  assert.equal(lethe([...args, '--out', one]).status, 0);
  const r = lethe([...args, '--out', two, '--nproc', '2']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal((r.stderr.match(/step 6\/6/g) ?? []).length, 1, 'only rank 0 reports progress');
  assertSameRun(one, two);
});

test('forget with NPO (+ retain NLL): 2 processes match 1 process', () => {
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
    '--steps',
    '5',
    '--batch-size',
    '4',
    '--lr',
    '1e-3',
  ];
  const one = join(dir, 'npo1');
  const two = join(dir, 'npo2');
  assert.equal(lethe([...args, '--out', one]).status, 0);
  const r = lethe([...args, '--out', two, '--nproc', '2']);
  assert.equal(r.status, 0, r.stderr);
  assertSameRun(one, two, ['forget', 'retain']);
  assert.ok(existsSync(join(two, 'unlearning.json')));
});

test('forget with RMU (row means), GradDiff with a KL retain term and UNDIAL (token means): 2 processes match 1 process', () => {
  for (const [name, extra] of [
    ['RMU', []],
    ['GradDiff', ['--set', 'retain_loss_type=KL']],
    ['UNDIAL', []],
  ] as const) {
    const args = [
      'forget',
      '--model',
      model,
      '--forget',
      forgetFile,
      '--retain',
      retainFile,
      '--method',
      name,
      ...extra,
      '--steps',
      '3',
      '--batch-size',
      '4',
      '--lr',
      '1e-3',
    ];
    const one = join(dir, `${name}1`);
    const two = join(dir, `${name}2`);
    assert.equal(lethe([...args, '--out', one]).status, 0, name);
    const r = lethe([...args, '--out', two, '--nproc', '2']);
    assert.equal(r.status, 0, r.stderr);
    assertSameRun(one, two, ['forget']);
  }
});

test('a batch smaller than the world and a method that cannot be split are refused', () => {
  const small = lethe([
    'finetune',
    '--model',
    model,
    '--data',
    text,
    '--steps',
    '2',
    '--batch-size',
    '1',
    '--out',
    join(dir, 'bs1'),
    '--nproc',
    '2',
  ]);
  assert.notEqual(small.status, 0);
  assert.match(small.stderr, /global batch of 1 rows cannot be split across 2 processes/);
  const pdu = lethe([
    'forget',
    '--model',
    model,
    '--forget',
    forgetFile,
    '--retain',
    retainFile,
    '--method',
    'PDU',
    '--steps',
    '2',
    '--out',
    join(dir, 'pdu'),
    '--nproc',
    '2',
  ]);
  assert.notEqual(pdu.status, 0);
  assert.match(pdu.stderr, /PDU does not run data-parallel/);
  assert.match(lethe(['doctor', '--nproc', '2']).stderr, /'doctor' does not take it/);
});

test('a killed rank fails the other with a clear error within the timeout; --resume then finishes', async () => {
  const out = join(dir, 'killed');
  const args = [CLI, 'finetune', '--model', model, '--data', text, '--steps', '120', '--batch-size', '4', '--lr', '1e-3', '--out', out];
  const port = String(await freePort());
  const ranks = [0, 1].map((rank) =>
    spawn(process.execPath, args, {
      env: {
        ...process.env,
        ...oneThread,
        RANK: String(rank),
        WORLD_SIZE: '2',
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: port,
        LETHE_DIST_TIMEOUT: '10',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  let stderr0 = '';
  ranks[0]!.stderr!.on('data', (d) => (stderr0 += d));
  ranks[1]!.stderr!.resume();
  const exit0 = new Promise<number | null>((res) => ranks[0]!.on('exit', (code) => res(code)));
  // Kill rank 1 once rank 0 has written its first checkpoint (every 30 steps here).
  while (!existsSync(join(out, 'checkpoint', 'trainer_state.json'))) {
    assert.equal(ranks[0]!.exitCode, null, `rank 0 ended before a checkpoint: ${stderr0}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const killedAt = Date.now();
  ranks[1]!.kill('SIGKILL');
  const code = await exit0;
  const waited = Date.now() - killedAt;
  assert.notEqual(code, 0);
  assert.ok(waited < 16000, `rank 0 took ${waited} ms to fail`); // the 10 s timeout at worst, plus exiting under load
  assert.match(stderr0, /rank 0 of 2, gloo\): a peer rank (closed its connection|did not answer within 10 s)/);

  const r = lethe([
    'finetune',
    '--model',
    model,
    '--data',
    text,
    '--steps',
    '120',
    '--batch-size',
    '4',
    '--lr',
    '1e-3',
    '--out',
    out,
    '--nproc',
    '2',
    '--resume',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const from = Number(/resuming from step (\d+)/.exec(r.stderr)?.[1]);
  assert.ok(from >= 30 && from < 120, `resumed from ${from}`);
  // The resumed 2-process run ends where one uninterrupted process does.
  const one = join(dir, 'uninterrupted');
  assert.equal(
    lethe(['finetune', '--model', model, '--data', text, '--steps', '120', '--batch-size', '4', '--lr', '1e-3', '--out', one]).status,
    0,
  );
  const diff = relativeWeightDiff(one, out, model);
  assert.ok(diff <= 1e-3, `final weights differ by ${diff} of the training's move`);
});

test('lethe train (pipeline): 2 ranks train base and target as 1 process does', { skip }, async () => {
  buildSuite('all', join(dir, 'data'), { seed: 5, size: 'tiny' }, 'test');
  const worker = join(repoRoot, 'dist/test/train/dp-pipeline-worker.js');
  const run = (out: string, env: NodeJS.ProcessEnv) =>
    new Promise<{ code: number | null; stderr: string }>((res) => {
      const c = spawn(process.execPath, [worker, join(dir, 'data'), out], {
        env: { ...process.env, ...oneThread, ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      c.stderr!.on('data', (d) => (stderr += d));
      c.on('exit', (code) => res({ code, stderr }));
    });
  const one = join(dir, 'train1');
  const two = join(dir, 'train2');
  const r1 = await run(one, {});
  assert.equal(r1.code, 0, r1.stderr);
  const port = String(await freePort());
  const ranks = await Promise.all(
    [0, 1].map((rank) => run(two, { RANK: String(rank), WORLD_SIZE: '2', MASTER_PORT: port, LETHE_DIST_TIMEOUT: '30' })),
  );
  for (const r of ranks) assert.equal(r.code, 0, r.stderr);
  for (const stage of ['base', 'target']) {
    const a = steps(join(one, stage));
    const b = steps(join(two, stage));
    assert.deepEqual(
      b.map((e) => e.step),
      a.map((e) => e.step),
    );
    a.forEach((e, i) => assert.ok(close(b[i]!.loss, e.loss), `${stage} step ${e.step}: ${b[i]!.loss} vs ${e.loss}`));
    const diff = maxWeightDiff(join(one, stage), join(two, stage));
    assert.ok(diff <= 1e-5, `${stage}: final weights differ by ${diff}`);
  }
  assert.ok(existsSync(join(two, 'run.json')));
});

// A SISA shard trains alone in its process (no gradient exchange): with the same thread count (see
// oneThread) one process and --nproc 2 do the same arithmetic, so the shards must be equal bit for
// bit on any CPU (AdamW would turn last-bit differences into visible ones within a few steps).

test('lethe sisa train|forget --nproc 2: shards train in parallel processes and give the 1-process ensemble bit for bit', () => {
  const data = writeJsonl(
    join(dir, 'keyed.jsonl'),
    PEOPLE.flatMap((p, i) => [0, 1, 2].map((k) => ({ person_id: `p${i}`, text: personText(p, i + k) }))),
  );
  const train = [
    'sisa',
    'train',
    '--model',
    model,
    '--data',
    data,
    '--shards',
    '3',
    '--slices',
    '2',
    '--key',
    'person_id',
    '--epochs',
    '1',
    '--batch-size',
    '2',
    '--lr',
    '3e-3',
  ];
  const one = join(dir, 'sisa1');
  const two = join(dir, 'sisa2');
  assert.equal(lethe([...train, '--out', one]).status, 0);
  const r = lethe([...train, '--out', two, '--nproc', '2']);
  assert.equal(r.status, 0, r.stderr);
  // Shards 0 and 1 ran at once (one per rank), then shard 2.
  assert.match(r.stderr, /\[sisa\] shard 0:[\s\S]*\[sisa\] shard 2:/);
  const m1 = JSON.parse(readFileSync(join(one, 'sisa.json'), 'utf8'));
  const m2 = JSON.parse(readFileSync(join(two, 'sisa.json'), 'utf8'));
  assert.deepEqual(m2.stages, m1.stages);
  for (const st of m1.stages as { checkpoint: string }[])
    assert.equal(maxWeightDiff(join(one, st.checkpoint), join(two, st.checkpoint)), 0, st.checkpoint);
  // Forgetting two people of different shards retrains both shards, one per process.
  const shards = new Map<number, string>();
  for (let i = 0; i < PEOPLE.length && shards.size < 2; i++) {
    const h = createHash('sha256').update(`p${i}`).digest('hex');
    const rec = (m1.records as { key: string; shard: number }[]).find((x) => x.key === h)!;
    if (!shards.has(rec.shard)) shards.set(rec.shard, `p${i}`);
  }
  const ids = join(dir, 'forget-ids.jsonl');
  writeJsonl(
    ids,
    [...shards.values()].flatMap((p) =>
      PEOPLE.flatMap((name, i) => (`p${i}` === p ? [0, 1, 2].map((k) => ({ person_id: p, text: personText(name, i + k) })) : [])),
    ),
  );
  const f1 = lethe(['sisa', 'forget', one, '--ids', ids, '--out', join(dir, 'sisa1-f'), '--json']);
  const f2 = lethe(['sisa', 'forget', two, '--ids', ids, '--out', join(dir, 'sisa2-f'), '--json', '--nproc', '2']);
  assert.equal(f2.status, 0, f2.stderr);
  assert.equal(f1.status, 0, f1.stderr);
  const n1 = JSON.parse(readFileSync(join(dir, 'sisa1-f', 'sisa.json'), 'utf8'));
  const n2 = JSON.parse(readFileSync(join(dir, 'sisa2-f', 'sisa.json'), 'utf8'));
  assert.equal(n2.history.at(-1).shardsRetrained.length, 2);
  assert.deepEqual(n2.stages, n1.stages);
  for (const st of n1.stages as { checkpoint: string }[])
    assert.equal(maxWeightDiff(join(dir, 'sisa1-f', st.checkpoint), join(dir, 'sisa2-f', st.checkpoint)), 0, st.checkpoint);
});
