// Gradient checking against central finite differences (float64), for test/torch/gradcheck.test.ts.
//
// For an op f and float64 leaf inputs x_k, the check projects the output(s) on fixed random
// tensors r (L(x) = Σ sum(f(x) * r); r = 1 for a single scalar output), takes the analytic gradient of L with torch.grad (or
// backward() and .grad) and compares it, element by element, with
// (L(x + h e_j) - L(x - h e_j)) / 2h, each probe rebuilt from a JS Float64Array under noGrad.
// Inputs are made from a seeded JS generator, so every failure is reproducible from its case name.
import assert from 'node:assert/strict';
import { torch, type Tensor } from '../../src/index.js';
import { Rng as DataRng } from '../../src/data/rng.js';

/** The project's seeded generator (src/data/rng.ts) with the uniform and normal draws gradchecks need. */
export class Rng extends DataRng {
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  normal(): number {
    const u = Math.max(this.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}

/** A generator seeded from a string (the case name), so cases do not depend on their order. */
export function rngFor(name: string): Rng {
  let hash = 2166136261;
  for (let k = 0; k < name.length; k++) hash = Math.imul(hash ^ name.charCodeAt(k), 16777619);
  return new Rng(hash >>> 0);
}

export function numelOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A float64 leaf tensor (requiresGrad) holding `values` with `shape`. */
export function leaf(values: ArrayLike<number>, shape: number[]): Tensor {
  assert.equal(values.length, numelOf(shape), `leaf: ${values.length} values for shape [${shape}]`);
  return torch.tensor(Float64Array.from(values), { dtype: 'float64', shape, requiresGrad: true });
}

/** A float64 tensor that does not require grad. */
export function constant(values: ArrayLike<number>, shape: number[]): Tensor {
  return torch.tensor(Float64Array.from(values), { dtype: 'float64', shape });
}

/** Uniform values in [lo, hi). */
export function uniformValues(rng: Rng, n: number, lo = -1, hi = 1): number[] {
  return Array.from({ length: n }, () => rng.uniform(lo, hi));
}

/** A uniform leaf in [lo, hi). */
export function uniform(rng: Rng, shape: number[], lo = -1, hi = 1): Tensor {
  return leaf(uniformValues(rng, numelOf(shape), lo, hi), shape);
}

/** A leaf whose magnitudes lie in [lo, hi) with random signs: away from 0 (abs, relu, 1/x ...). */
export function awayFromZero(rng: Rng, shape: number[], lo = 0.3, hi = 1.5): Tensor {
  return leaf(
    Array.from({ length: numelOf(shape) }, () => (rng.next() < 0.5 ? -1 : 1) * rng.uniform(lo, hi)),
    shape,
  );
}

/**
 * Distinct values: a shuffled grid offset + k * spacing (k = 0 .. n-1) with jitter below spacing/8,
 * so any two elements differ by more than 3/4 spacing (no ties for max, min, sort ...). Two grids
 * with offsets differing by spacing/2 never come closer than spacing/4 (maximum, minimum, clamp).
 */
export function distinctValues(rng: Rng, n: number, offset: number, spacing = 0.2): number[] {
  const grid = Array.from({ length: n }, (_, k) => offset + k * spacing + rng.uniform(-spacing / 8, spacing / 8));
  return rng.shuffle(grid);
}

export function distinct(rng: Rng, shape: number[], offset = -1, spacing = 0.2): Tensor {
  return leaf(distinctValues(rng, numelOf(shape), offset, spacing), shape);
}

export interface GradcheckOptions {
  /** Finite-difference step. */
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Analytic gradients through torch.grad (default) or L.backward() and x.grad. */
  via?: 'grad' | 'backward';
  /** Seed of the projection r. */
  seed?: number;
  /**
   * Edits the numeric gradient of input k before the comparison, for gradients that are defined to
   * differ from the derivative of the forward (embedding's paddingIdx row). Use sparingly.
   */
  adjustNumeric?: (k: number, numeric: Float64Array) => void;
}

export interface GradcheckResult {
  analytic: Float64Array[];
  numeric: Float64Array[];
}

type OpFn = (...xs: Tensor[]) => Tensor | Tensor[];

function outputsOf(value: Tensor | Tensor[]): Tensor[] {
  return Array.isArray(value) ? value : [value];
}

function projection(rng: Rng, shape: number[]): Tensor {
  return constant(
    Array.from({ length: numelOf(shape) }, () => rng.normal()),
    shape,
  );
}

function project(outputs: Tensor[], rs: Tensor[]): Tensor {
  let total: Tensor | null = null;
  for (const [k, out] of outputs.entries()) {
    const term = torch.sum(torch.mul(out, rs[k]!));
    total = total ? torch.add(total, term) : term;
  }
  return total!;
}

/** The elements of a float64 tensor as a JS array. */
export function valuesOf(t: Tensor): number[] {
  return Array.from(asF64(t));
}

function asF64(t: Tensor): Float64Array {
  const d = t.data();
  assert.ok(d instanceof Float64Array, `expected float64 data, got ${t.dtype}`);
  return d;
}

function fmt(xs: ArrayLike<number>): string {
  return '[' + Array.from(xs, (v) => v.toPrecision(10)).join(', ') + ']';
}

/**
 * Checks the analytic gradient of `fn` at `inputs` (float64 leaves with requiresGrad) against
 * central finite differences; fails with the input, element, both values and the inputs' data.
 */
export function gradcheck(fn: OpFn, inputs: Tensor[], options: GradcheckOptions = {}): GradcheckResult {
  const { eps = 1e-6, atol = 1e-6, rtol = 1e-5, via = 'grad', seed = 12345 } = options;
  return torch.tidy(() => {
    for (const [k, x] of inputs.entries()) {
      assert.equal(x.dtype, 'float64', `gradcheck: input ${k} must be float64`);
      assert.ok(x.requiresGrad && x.isLeaf, `gradcheck: input ${k} must be a leaf that requires grad`);
    }
    const outs = outputsOf(fn(...inputs));
    const rng = new Rng(seed);
    // A single scalar output is taken as is (r = 1), so the gradients returned are those of f itself.
    const scalar = outs.length === 1 && outs[0]!.numel() === 1;
    const rs = outs.map((o) => {
      assert.equal(o.dtype, 'float64', 'gradcheck: the output must be float64');
      return scalar ? constant([1], o.shape) : projection(rng, o.shape);
    });
    const L = project(outs, rs);

    let analytic: Float64Array[];
    if (via === 'backward') {
      for (const x of inputs) x.grad = null;
      L.backward();
      analytic = inputs.map((x) => {
        const g = x.grad;
        if (!g) return new Float64Array(x.numel());
        assert.deepEqual(g.shape, x.shape, 'gradcheck: .grad has the shape of its input');
        const d = asF64(g);
        x.grad = null;
        return d;
      });
    } else {
      const grads = torch.grad(L, inputs, { allowUnused: true });
      analytic = grads.map((g, k) => {
        if (!g) return new Float64Array(inputs[k]!.numel());
        assert.deepEqual(g.shape, inputs[k]!.shape, `gradcheck: the gradient of input ${k} has its shape`);
        return asF64(g);
      });
    }

    const bases = inputs.map((x) => asF64(x.detach()));
    const evalAt = (k: number, j: number, delta: number): number =>
      torch.tidy(() => {
        const values = bases[k]!.slice();
        values[j] = values[j]! + delta;
        const probe = torch.tensor(values, { dtype: 'float64', shape: inputs[k]!.shape, requiresGrad: true });
        const xs = inputs.map((x, i) => (i === k ? probe : x));
        return project(outputsOf(fn(...xs)), rs).item();
      });
    const numeric = torch.noGrad(() =>
      bases.map((base, k) => {
        const out = new Float64Array(base.length);
        for (let j = 0; j < base.length; j++) out[j] = (evalAt(k, j, eps) - evalAt(k, j, -eps)) / (2 * eps);
        return out;
      }),
    );
    if (options.adjustNumeric) numeric.forEach((nu, k) => options.adjustNumeric!(k, nu));

    for (const [k, an] of analytic.entries()) {
      const nu = numeric[k]!;
      for (let j = 0; j < an.length; j++) {
        const diff = Math.abs(an[j]! - nu[j]!);
        if (!(diff <= atol + rtol * Math.abs(nu[j]!))) {
          assert.fail(
            `gradient of input ${k} (shape [${inputs[k]!.shape}]) at element ${j}: analytic ${an[j]}, ` +
              `numeric ${nu[j]} (diff ${diff.toExponential(3)}, atol ${atol}, rtol ${rtol})\n` +
              `  analytic: ${fmt(an)}\n  numeric:  ${fmt(nu)}\n` +
              inputs.map((x, i) => `  input ${i} [${x.shape}]: ${fmt(bases[i]!)}`).join('\n'),
          );
        }
      }
    }
    return { analytic, numeric };
  });
}
