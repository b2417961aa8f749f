// torch.distributed over libtorch's c10d (TCPStore + Gloo), with two real processes on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { repoRoot } from '../helpers/fixtures.js';
import { freePort } from '../../src/util/net.js';

const worker = join(repoRoot, 'dist/test/torch/dist-worker.js');

interface Out {
  code: number | null;
  json: Record<string, unknown>;
  ms: number;
}
async function ranks(n: number, env: NodeJS.ProcessEnv = {}, world = n): Promise<Out[]> {
  const port = String(await freePort());
  return Promise.all(
    Array.from(
      { length: n },
      (_, rank) =>
        new Promise<Out>((res) => {
          const t0 = Date.now();
          const c = spawn(process.execPath, [worker], {
            env: { ...process.env, RANK: String(rank), WORLD_SIZE: String(world), MASTER_PORT: port, LETHE_DIST_TIMEOUT: '10', ...env },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let out = '';
          c.stdout!.on('data', (d) => (out += d));
          c.stderr!.resume();
          c.on('exit', (code) => {
            const lines = out.trim().split('\n');
            res({ code, json: JSON.parse(lines.at(-1) || '{}'), ms: Date.now() - t0 });
          });
        }),
    ),
  );
}

test('allReduce (sum, max), broadcast, allGather, bucketed allReduce and barrier across 2 Gloo processes', async () => {
  const out = await ranks(2);
  for (const o of out) assert.equal(o.code, 0, JSON.stringify(o.json));
  for (const { json } of out) {
    assert.equal(json.world, 2);
    assert.deepEqual(json.sum, [3, 10]);
    assert.equal(json.max, 1);
    assert.deepEqual(json.broadcast, [
      [1, 1],
      [1, 1],
    ]);
    assert.deepEqual(json.gathered, [0, 2]);
    assert.deepEqual(json.bucketed, [
      { shape: [2, 2], values: [3, 3, 3, 3] },
      { shape: [3], values: [2, 2, 2] },
      { shape: [1], values: [10] },
    ]);
  }
});

test('a rank that exits makes the other fail with a JS error naming it, not hang', async () => {
  const [r0] = await ranks(2, { DIE_AFTER: '1' });
  assert.equal(r0!.code, 1);
  assert.match(String(r0!.json.error), /allReduce \(rank 0 of 2, gloo\): a peer rank (closed its connection|did not answer within 10 s)/);
  assert.ok(r0!.ms < 20000, `took ${r0!.ms} ms`);
});

test('a missing rank fails the rendezvous within the timeout, naming the address', async () => {
  const [r0] = await ranks(1, { LETHE_DIST_TIMEOUT: '2' }, 2);
  assert.equal(r0!.code, 1);
  assert.match(String(r0!.json.error), /rendezvous at 127\.0\.0\.1:\d+ as rank 0 of 2 failed within 2(\.0+)? s/);
  assert.ok(r0!.ms < 15000, `took ${r0!.ms} ms`);
});

test('without init: one process, no communication; bad settings are named', async () => {
  assert.equal(torch.distributed.isInitialized(), false);
  assert.equal(torch.distributed.worldSize(), 1);
  assert.equal(torch.distributed.rank(), 0);
  assert.throws(() => torch.distributed.allReduce(torch.ones([2])), /the process group is not initialized/);
  assert.throws(
    () => torch.distributed.init({ masterAddr: '127.0.0.1', masterPort: 1, rank: 2, worldSize: 2 }),
    /rank 2 is outside a world of size 2/,
  );
  assert.throws(() => torch.distributed.optionsFromEnv({ WORLD_SIZE: '2' }), /RANK is not/);
  assert.throws(
    () => torch.distributed.optionsFromEnv({ WORLD_SIZE: 'two', RANK: '0' }),
    /WORLD_SIZE must be a non-negative integer, got 'two'/,
  );
  assert.equal(torch.distributed.optionsFromEnv({}), null);
  assert.ok(torch.distributed.availableBackends().includes('gloo'), 'built without Gloo: apt-get install libgloo-dev, then npm run setup');
  assert.deepEqual(torch.distributed.optionsFromEnv({ WORLD_SIZE: '4', RANK: '3', MASTER_ADDR: '10.0.0.1', MASTER_PORT: '1234' }), {
    backend: 'gloo',
    masterAddr: '10.0.0.1',
    masterPort: 1234,
    rank: 3,
    worldSize: 4,
    timeoutMs: 30000,
  });
  if (!torch.distributed.availableBackends().includes('nccl')) {
    const masterPort = await freePort();
    assert.throws(
      () => torch.distributed.init({ backend: 'nccl', masterAddr: '127.0.0.1', masterPort, rank: 0, worldSize: 1, timeoutMs: 2000 }),
      /^Error: distInit\(.*\): backend 'nccl' needs the addon built against a CUDA libtorch/,
    );
  }
  // Outside shardedLoss (and in one process) a batch mean is the local mean.
  torch.tidy(() => {
    const x = torch.tensor([1, 2, 3, 6], { dtype: 'float32' });
    assert.equal(torch.distributed.rowMean(x).item(), 3);
    assert.equal(
      torch.distributed.shardedLoss(() => torch.distributed.shardMean(x.sum(), 4).item()),
      3,
    );
  });
});
