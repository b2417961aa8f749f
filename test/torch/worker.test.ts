// The addon is context-aware: each worker thread loads it and keeps its own live-tensor table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { torch } from '../../src/index.js';

const indexUrl = new URL('../../src/index.js', import.meta.url).href;

function runWorker(code: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, env: process.env });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (c) => c !== 0 && reject(new Error(`worker exited with ${c}`)));
  });
}

test('tensors and training work inside worker threads, two at once', async () => {
  const code = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(indexUrl)}).then(({ torch }) => {
      const base = torch.liveTensors();
      const w = torch.zeros([3], { requiresGrad: true });
      const target = torch.tensor([1, -2, 3], { dtype: 'float32' });
      const opt = new torch.optim.SGD([w], { lr: 0.5 });
      for (let k = 0; k < 50; k++) {
        torch.tidy(() => torch.mseLoss(w, target).backward());
        opt.step();
        opt.zeroGrad();
      }
      const values = w.toArray();
      opt.dispose(); w.dispose(); target.dispose();
      // One tensor stays alive a little longer, while the main thread counts its own.
      const stay = torch.ones([4]);
      parentPort.postMessage({ values, leaked: torch.liveTensors() - base - 1 });
      setTimeout(() => stay.dispose(), 300);
    }).catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
  const mainBase = torch.liveTensors();
  const results = (await Promise.all([runWorker(code), runWorker(code)])) as { values: number[]; leaked: number; error?: string }[];
  for (const r of results) {
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.leaked, 0);
    r.values.forEach((v, k) => assert.ok(Math.abs(v - [1, -2, 3][k]!) < 1e-3, `worker learned ${r.values}`));
  }
  assert.equal(torch.liveTensors(), mainBase, "the workers' tensors live in their own tables, not the main thread's");
});
