import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../../src/index.js';

test('tidy frees everything made inside but its result', () => {
  const base = torch.liveTensors();
  const a = torch.ones([4]);
  const result = torch.tidy(() => {
    const b = a.mul(2);
    const c = b.add(1).exp();
    return { sum: c.sum(), parts: [b.neg()] };
  });
  assert.equal(torch.liveTensors(), base + 3, 'a, sum and parts[0] survive');
  assert.equal(result.sum.isDisposed, false);
  assert.equal(result.parts[0]!.isDisposed, false);
  torch.dispose([a, result]);
  assert.equal(torch.liveTensors(), base);
});

test('nested tidy moves results to the outer scope, keep() exempts', () => {
  const base = torch.liveTensors();
  let kept: torch.Tensor | undefined;
  let inner: torch.Tensor | undefined;
  torch.tidy(() => {
    inner = torch.tidy(() => torch.ones([2]).add(1));
    kept = torch.keep(torch.zeros([2]).add(5));
    assert.equal(inner.isDisposed, false);
    return null;
  });
  assert.equal(inner!.isDisposed, true, 'the outer tidy freed the inner result');
  assert.equal(kept!.isDisposed, false);
  kept!.dispose();
  assert.equal(torch.liveTensors(), base);
});

test('tidy frees on exceptions and rejects async functions', async () => {
  const base = torch.liveTensors();
  assert.throws(
    () =>
      torch.tidy(() => {
        torch.ones([3]);
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(torch.liveTensors(), base);
  assert.throws(() => torch.tidy((async () => torch.ones([1])) as unknown as () => torch.Tensor), /Promise/);
  await new Promise((r) => setImmediate(r));
  const leftover = torch.liveTensors() - base;
  assert.ok(leftover <= 1, "at most the async body's own tensor, made after tidy returned");
});

test('dispose is idempotent; use after dispose is an Error naming the op', () => {
  const base = torch.liveTensors();
  const t = torch.randn([2, 2]);
  t.dispose();
  t.dispose();
  assert.equal(t.isDisposed, true);
  assert.throws(
    () => t.add(1),
    (err: Error) => err instanceof Error && /add.*disposed/.test(err.message),
  );
  assert.throws(() => t.shape, /disposed/);
  torch.tidy(() => assert.throws(() => torch.cat([torch.ones([1]), t]), /cat.*disposed tensor at index 1/));
  assert.equal(torch.liveTensors(), base);
  assert.equal(String(t), 'Tensor(disposed)');
});

test('memory() counts each storage once; views share it', () => {
  torch.tidy(() => {
    const before = torch.memory();
    const a = torch.zeros([256], { dtype: 'float32' });
    const view = a.view([16, 16]);
    const after = torch.memory();
    assert.equal(after.tensors, before.tensors + 2);
    assert.equal(after.bytes, before.bytes + 1024, 'a view adds no bytes');
    a.add_(1);
    assert.deepEqual(view.shape, [16, 16]);
    assert.equal(view.sum().item(), 256, 'the view sees writes to its base: one storage');
    return null;
  });
});

test('a grad accessor returns a tracked tensor that tidy frees', () => {
  const x = torch.ones([3], { requiresGrad: true });
  torch.tidy(() => x.mul(2).sum().backward());
  const base = torch.liveTensors();
  torch.tidy(() => {
    assert.deepEqual(x.grad!.toArray(), [2, 2, 2]);
    return null;
  });
  assert.equal(torch.liveTensors(), base);
  x.dispose();
});

test('the GC finalizer frees forgotten tensors (backstop)', {
  skip: typeof globalThis.gc !== 'function' ? 'run node with --expose-gc' : false,
}, async () => {
  const base = torch.liveTensors();
  (() => {
    for (let k = 0; k < 100; k++) torch.ones([10]);
  })();
  for (let k = 0; k < 5 && torch.liveTensors() > base; k++) {
    globalThis.gc!();
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(torch.liveTensors(), base);
});
