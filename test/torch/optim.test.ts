// Optimizers against the update rules of torch.optim written out in plain float64 JS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../../src/index.js';
import { assertClose } from '../helpers/close.js';
import { withoutLeaks } from '../helpers/leaks.js';

const f64 = (v: number[]) => torch.tensor(v, { dtype: 'float64', requiresGrad: true });

/** Sets p.grad to the given values. */
function setGrad(p: torch.Tensor, g: number[]): void {
  p.grad = torch.tensor(g, { dtype: 'float64' });
}

test('AdamW follows torch.optim.AdamW step by step (decoupled weight decay, bias correction)', () => {
  const p = f64([0.5, -1, 2]);
  const opt = new torch.optim.AdamW([p], { lr: 0.1, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0.05 });
  // Reference: PyTorch's single-tensor AdamW, in JS.
  const x = [0.5, -1, 2];
  const m = [0, 0, 0];
  const v = [0, 0, 0];
  const grads = [
    [0.1, -0.2, 0.3],
    [0.4, 0.1, -0.5],
    [-0.3, 0.2, 0.1],
    [0.05, 0.05, 0.05],
  ];
  grads.forEach((g, step0) => {
    const step = step0 + 1;
    setGrad(p, g);
    opt.step();
    for (let k = 0; k < 3; k++) {
      x[k]! *= 1 - 0.1 * 0.05;
      m[k] = 0.9 * m[k]! + 0.1 * g[k]!;
      v[k] = 0.99 * v[k]! + 0.01 * g[k]! * g[k]!;
      const mHat = m[k]! / (1 - 0.9 ** step);
      const denom = Math.sqrt(v[k]!) / Math.sqrt(1 - 0.99 ** step) + 1e-8;
      x[k]! -= (0.1 * mHat) / denom;
    }
    assertClose(p.toArray(), x, { atol: 1e-12, rtol: 1e-12, what: `AdamW step ${step}` });
  });
  opt.dispose();
});

test('SGD with momentum, dampening, weight decay and Nesterov follows torch.optim.SGD', () => {
  for (const nesterov of [false, true]) {
    const dampening = nesterov ? 0 : 0.1;
    const p = f64([1, -2]);
    const opt = new torch.optim.SGD([p], { lr: 0.1, momentum: 0.9, dampening, weightDecay: 0.01, nesterov });
    const x = [1, -2];
    const buf = [0, 0];
    [
      [0.5, 0.5],
      [-1, 0.25],
      [0.2, -0.3],
    ].forEach((g, step) => {
      setGrad(p, g);
      opt.step();
      for (let k = 0; k < 2; k++) {
        const d = g[k]! + 0.01 * x[k]!;
        buf[k] = step === 0 ? d : 0.9 * buf[k]! + (1 - dampening) * d;
        x[k]! -= 0.1 * (nesterov ? d + 0.9 * buf[k]! : buf[k]!);
      }
      assertClose(p.toArray(), x, { atol: 1e-12, rtol: 1e-12, what: `SGD nesterov=${nesterov} step ${step}` });
    });
    opt.dispose();
  }
  const plain = f64([1]);
  const sgd = new torch.optim.SGD([plain], { lr: 0.5 });
  setGrad(plain, [2]);
  sgd.step();
  assert.deepEqual(plain.toArray(), [0]);
});

test('zeroGrad clears gradients; parameters without a gradient are skipped', () => {
  const a = f64([1]);
  const b = f64([1]);
  const opt = new torch.optim.AdamW([a, b], { lr: 0.1 });
  setGrad(a, [1]);
  opt.step();
  assert.deepEqual(b.toArray(), [1], 'b had no grad');
  assert.notDeepEqual(a.toArray(), [1]);
  opt.zeroGrad();
  assert.equal(a.grad, null);
  setGrad(a, [1]);
  opt.zeroGrad(false);
  assert.deepEqual(a.grad!.toArray(), [0]);
  opt.dispose();
});

test('parameter groups take their own options', () => {
  const a = f64([1]);
  const b = f64([1]);
  const opt = new torch.optim.SGD([{ params: [a] }, { params: [b], options: { lr: 1 } }], { lr: 0.1 });
  setGrad(a, [1]);
  setGrad(b, [1]);
  opt.step();
  assertClose(a.toArray(), [0.9], { atol: 1e-15, what: 'group 0' });
  assertClose(b.toArray(), [0], { atol: 1e-15, what: 'group 1' });
});

test('stateDict / loadStateDict resume gives the same trajectory', () => {
  const run = (resumeAt: number | null) => {
    const p = f64([0.3, -0.7]);
    let opt = new torch.optim.AdamW([p], { lr: 0.05 });
    for (let step = 0; step < 6; step++) {
      if (step === resumeAt) {
        const saved = opt.stateDict();
        const copy = {
          ...saved,
          state: saved.state.map((s) => ({
            step: s.step,
            tensors: Object.fromEntries(Object.entries(s.tensors).map(([k, t]) => [k, t.clone()])),
          })),
        };
        opt.dispose();
        opt = new torch.optim.AdamW([p], { lr: 999 });
        opt.loadStateDict(copy);
        assert.equal(opt.lr, 0.05, 'hyper-parameters restored');
      }
      setGrad(p, [Math.sin(step), Math.cos(step)]);
      opt.step();
    }
    return p.toArray();
  };
  assert.deepEqual(run(3), run(null));
  const p = f64([1]);
  const opt = new torch.optim.AdamW([p]);
  assert.throws(() => opt.loadStateDict({ state: [], paramGroups: [] }), /0 params in 0 groups/);
});

test('clipGradNorm scales gradients to the max norm and returns the total norm', () => {
  const a = f64([3, 0]);
  const b = f64([0, 4]);
  setGrad(a, [3, 0]);
  setGrad(b, [0, 4]);
  const total = torch.clipGradNorm([a, b], 1);
  assertClose(total, 5, { atol: 1e-12, what: 'total norm' });
  assertClose(a.grad!.toArray(), [3 / (5 + 1e-6), 0], { atol: 1e-12, what: 'clipped a' });
  assertClose(b.grad!.toArray(), [0, 4 / (5 + 1e-6)], { atol: 1e-12, what: 'clipped b' });
  setGrad(a, [0.1, 0]);
  setGrad(b, [0, 0]);
  assertClose(torch.clipGradNorm([a, b], 1), 0.1, { atol: 1e-12, what: 'no clipping below max' });
  assert.deepEqual(a.grad!.toArray(), [0.1, 0]);
  setGrad(a, [-7, 2]);
  assertClose(torch.clipGradNorm([a], 100, Infinity), 7, { atol: 1e-12, what: 'inf norm' });
  setGrad(a, [NaN, 1]);
  assert.throws(() => torch.clipGradNorm([a], 1, 2, { errorIfNonfinite: true }), /non-finite/);
});

test("LR schedules follow transformers' warmup + linear / cosine formulas", () => {
  const p = f64([0]);
  const linOpt = new torch.optim.SGD([p], { lr: 1 });
  const lin = torch.optim.linearWarmupDecay(linOpt, { warmupSteps: 2, totalSteps: 10 });
  const seen: number[] = [lin.lr];
  for (let k = 0; k < 10; k++) {
    lin.step();
    seen.push(lin.lr);
  }
  assertClose(seen, [0, 0.5, 1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0], { atol: 1e-15, what: 'linear' });
  const cosOpt = new torch.optim.SGD([p], { lr: 2 });
  const cos = torch.optim.cosineWarmup(cosOpt, { warmupSteps: 0, totalSteps: 4 });
  const cs: number[] = [cos.lr];
  for (let k = 0; k < 4; k++) {
    cos.step();
    cs.push(cos.lr);
  }
  assertClose(cs, [2, 1 + Math.SQRT1_2, 1, 1 - Math.SQRT1_2, 0], { atol: 1e-12, what: 'cosine' });
  cos.loadStateDict({ lastStep: 2 });
  assertClose(cos.lr, 1, { atol: 1e-12, what: 'cosine after loadStateDict' });
  assert.throws(() => torch.optim.linearWarmupDecay(linOpt, { warmupSteps: -1, totalSteps: 5 }), /warmupSteps/);
});

test('optimizer options are validated by name', () => {
  const p = f64([0]);
  assert.throws(() => new torch.optim.AdamW([p], { lr: -1 }), /AdamW: lr must be >= 0, got -1/);
  assert.throws(() => new torch.optim.AdamW([p], { betas: [0.9, 1.5] }), /betas/);
  assert.throws(() => new torch.optim.SGD([p], { nesterov: true }), /nesterov needs momentum/);
  assert.throws(() => new torch.optim.SGD([torch.zeros([1])]), /does not require grad/);
  assert.throws(() => new torch.optim.SGD([]), /non-empty/);
});

test('a small MLP trained with AdamW: the loss falls and no tensor leaks', () => {
  torch.manualSeed(0);
  withoutLeaks(() => {
    const w1 = torch.randn([16, 4], { requiresGrad: true });
    const w2 = torch.randn([3, 16], { requiresGrad: true });
    const x = torch.randn([32, 4]);
    const y = torch.randint(0, 3, [32]);
    const opt = new torch.optim.AdamW([w1, w2], { lr: 0.05 });
    const losses: number[] = [];
    for (let k = 0; k < 60; k++) {
      losses.push(
        torch.tidy(() => {
          const loss = torch.crossEntropy(torch.linear(torch.gelu(torch.linear(x, w1)), w2), y);
          loss.backward();
          return loss.item();
        }),
      );
      torch.clipGradNorm([w1, w2], 5);
      opt.step();
      opt.zeroGrad();
    }
    assert.ok(losses.at(-1)! < losses[0]! * 0.3, `loss ${losses[0]} → ${losses.at(-1)}`);
    opt.dispose();
    torch.dispose([w1, w2, x, y]);
  });
});
