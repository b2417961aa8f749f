import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../../src/index.js';
import { assertClose } from '../helpers/close.js';

test('backward accumulates into .grad of leaves; retainGraph allows a second pass', () => {
  const x = torch.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
  const y = x.mul(x).sum();
  y.backward(null, { retainGraph: true });
  assert.deepEqual(x.grad!.toArray(), [2, 4, 6]);
  y.backward();
  assert.deepEqual(x.grad!.toArray(), [4, 8, 12], 'gradients accumulate');
  assert.equal(x.isLeaf, true);
  assert.equal(y.isLeaf, false);
  assert.match(y.gradFn!, /Sum/);
  x.grad = null;
  assert.equal(x.grad, null);
});

test('backward with an explicit gradient for a non-scalar output', () => {
  const x = torch.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
  x.mul(3).backward(torch.tensor([1, 10], { dtype: 'float64' }));
  assert.deepEqual(x.grad!.toArray(), [3, 30]);
});

test('noGrad turns recording off and restores it, even after a throw', () => {
  const x = torch.ones([2], { requiresGrad: true });
  const y = torch.noGrad(() => x.mul(2));
  assert.equal(y.requiresGrad, false);
  assert.equal(torch.isGradEnabled(), true);
  assert.throws(
    () =>
      torch.noGrad(() => {
        throw new Error('inside');
      }),
    /inside/,
  );
  assert.equal(torch.isGradEnabled(), true);
  const z = torch.noGrad(() => torch.enableGrad(() => x.mul(2)));
  assert.equal(z.requiresGrad, true);
});

test('grad() returns gradients without touching .grad; allowUnused gives null', () => {
  const a = torch.tensor([2], { dtype: 'float64', requiresGrad: true });
  const b = torch.tensor([5], { dtype: 'float64', requiresGrad: true });
  const c = torch.tensor([1], { dtype: 'float64', requiresGrad: true });
  const out = a.mul(b).sum();
  const [ga, gb, gc] = torch.grad(out, [a, b, c], { allowUnused: true });
  assert.deepEqual(ga!.toArray(), [5]);
  assert.deepEqual(gb!.toArray(), [2]);
  assert.equal(gc, null);
  assert.equal(a.grad, null);
  assert.throws(() => torch.grad(a.mul(b).sum(), [c]), /not have been used|allow_unused/);
});

test('grad() with createGraph gives higher derivatives: d²/dx² x³ = 6x', () => {
  const x = torch.tensor([2], { dtype: 'float64', requiresGrad: true });
  const [dy] = torch.grad(x.pow(3).sum(), x, { createGraph: true });
  assert.deepEqual(dy!.toArray(), [12]);
  const [d2y] = torch.grad(dy!.sum(), x);
  assert.deepEqual(d2y!.toArray(), [12]);
});

test('variableGrads returns the value and gradients, as an array or a record', () => {
  const w = torch.tensor([1, -1], { dtype: 'float64', requiresGrad: true });
  const b = torch.tensor([0.5], { dtype: 'float64', requiresGrad: true });
  const unused = torch.tensor([0], { dtype: 'float64', requiresGrad: true });
  const base = torch.liveTensors();
  const f = () => w.mul(w).sum().add(b.mul(3).sum());
  const r = torch.variableGrads(f, { w, b, unused });
  assertClose(r.value.item(), 3.5, { what: 'value' });
  assert.equal(r.value.requiresGrad, false);
  assert.deepEqual(r.grads.w!.toArray(), [2, -2]);
  assert.deepEqual(r.grads.b!.toArray(), [3]);
  assert.deepEqual(r.grads.unused!.toArray(), [0]);
  assert.equal(torch.liveTensors(), base + 4, 'value and three grads; intermediates freed');
  const arr = torch.variableGrads(f, [w]);
  assert.deepEqual(arr.grads[0]!.toArray(), [2, -2]);
  assert.throws(() => torch.variableGrads(() => w.mul(2), [w]), /scalar/);
  assert.throws(() => torch.variableGrads(f, [torch.ones([1])]), /does not require grad/);
});

test('requiresGrad on an integer tensor is an error; requiresGrad_ chains', () => {
  assert.throws(() => {
    torch.ones([1], { dtype: 'int64' }).requiresGrad = true;
  }, /floating point|complex/);
  const t = torch.ones([1]).requiresGrad_();
  assert.equal(t.requiresGrad, true);
  assert.equal(t.detach().requiresGrad, false);
});
