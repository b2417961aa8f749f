// Learning-rate schedules by value at several steps, against the hand formulas of transformers'
// get_constant_schedule_with_warmup / get_linear_schedule_with_warmup / get_cosine_schedule_with_warmup
// (plus a floor of minLrRatio × base for the cosine).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../../src/index.js';
import { assertClose } from '../helpers/close.js';

function lrs(make: (opt: torch.optim.SGD) => torch.optim.LRScheduler, steps: number[], baseLr = 0.3): number[] {
  const p = torch.zeros([1], { requiresGrad: true });
  const opt = new torch.optim.SGD([p], { lr: baseLr });
  const s = make(opt);
  const out: number[] = [];
  for (let k = 0; k <= Math.max(...steps); k++) {
    if (steps.includes(k)) {
      assert.equal(opt.paramGroups[0]!.hyper.lr, s.lr, 'the optimizer sees the scheduled lr');
      out.push(s.lr);
    }
    s.step();
  }
  opt.dispose();
  p.dispose();
  return out;
}

const STEPS = [0, 1, 3, 4, 5, 9, 13, 20, 25];

test('constantWarmup: linear warmup to the base lr, then constant', () => {
  const f = (k: number) => (k < 4 ? k / 4 : 1);
  assertClose(
    lrs((o) => torch.optim.constantWarmup(o, { warmupSteps: 4 }), STEPS),
    STEPS.map((k) => 0.3 * f(k)),
    { atol: 1e-15 },
  );
  assertClose(
    lrs((o) => torch.optim.constantWarmup(o), [0, 7]),
    [0.3, 0.3],
    { atol: 1e-15, what: 'no warmup' },
  );
});

test('linearWarmupDecay: k/w during warmup, then (T - k)/(T - w), 0 after T', () => {
  const f = (k: number) => (k < 4 ? k / 4 : Math.max(0, (20 - k) / (20 - 4)));
  assertClose(
    lrs((o) => torch.optim.linearWarmupDecay(o, { warmupSteps: 4, totalSteps: 20 }), STEPS),
    STEPS.map((k) => 0.3 * f(k)),
    { atol: 1e-15 },
  );
});

test('cosineWarmup: k/w, then floor + (1 - floor)·½(1 + cos(π·progress)), held at the floor after T', () => {
  for (const floor of [0, 0.1]) {
    const f = (k: number) => {
      if (k < 4) return k / 4;
      const progress = Math.min(1, (k - 4) / (20 - 4));
      return floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
    };
    const got = lrs((o) => torch.optim.cosineWarmup(o, { warmupSteps: 4, totalSteps: 20, minLrRatio: floor }), STEPS);
    assertClose(
      got,
      STEPS.map((k) => 0.3 * f(k)),
      { atol: 1e-15, what: `floor ${floor}` },
    );
  }
  // Hand values: halfway through the decay (k = 12) the factor is ½; at k = 8, ½(1 + cos(π/4)).
  assertClose(
    lrs((o) => torch.optim.cosineWarmup(o, { warmupSteps: 4, totalSteps: 20 }), [8, 12], 1),
    [0.5 * (1 + Math.SQRT1_2), 0.5],
    { atol: 1e-15 },
  );
});
