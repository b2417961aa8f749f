// L2-regularised logistic regression, as scikit-learn's LogisticRegression (penalty 'l2', C, an
// unpenalised intercept) defines it: minimise ½‖w‖² + C·Σᵢ log(1 + exp(−yᵢ(xᵢ·w + b))), yᵢ ∈ {−1, 1}.
// Solved with L-BFGS (the problem is strictly convex, so any solver reaches the same optimum; this one
// needs only gradients, so it scales to wide hidden states). Float64 throughout.
import { LetheError } from '../util/errors.js';

export interface LogisticModel {
  w: number[];
  b: number;
  /** L-BFGS iterations used, and whether the gradient norm fell below the tolerance. */
  iterations: number;
  converged: boolean;
}

export interface FitOptions {
  /** Inverse regularisation strength (scikit-learn's C; default 1). */
  C?: number;
  maxIter?: number;
  /** Stop when the gradient's max-norm is below this (default 1e-8 × the number of rows). */
  tol?: number;
}

const softplus = (z: number) => (z > 30 ? z : z < -30 ? Math.exp(z) : Math.log1p(Math.exp(z)));
const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Fits labels y ∈ {0, 1} on rows X (all of the same width). */
export function fitLogistic(X: readonly (readonly number[])[], y: readonly number[], o: FitOptions = {}): LogisticModel {
  const n = X.length;
  if (!n || n !== y.length) throw new LetheError('INTERNAL', `fitLogistic: ${n} rows and ${y.length} labels`);
  const d = X[0]!.length;
  const C = o.C ?? 1;
  const tol = o.tol ?? 1e-8 * n;
  const sign = y.map((v) => (v > 0.5 ? 1 : -1));
  // theta = [w (d), b]
  const f = (t: Float64Array, g: Float64Array): number => {
    g.fill(0);
    let loss = 0;
    for (let k = 0; k < d; k++) {
      loss += 0.5 * t[k]! * t[k]!;
      g[k] = t[k]!;
    }
    for (let i = 0; i < n; i++) {
      const x = X[i]!;
      let z = t[d]!;
      for (let k = 0; k < d; k++) z += x[k]! * t[k]!;
      const m = sign[i]! * z;
      loss += C * softplus(-m);
      const c = -C * sign[i]! * sigmoid(-m); // d/dz of C·softplus(−y z)
      for (let k = 0; k < d; k++) g[k] += c * x[k]!;
      g[d] += c;
    }
    return loss;
  };
  const dim = d + 1;
  const theta = new Float64Array(dim);
  const grad = new Float64Array(dim);
  let fx = f(theta, grad);
  const memory = 10;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, k) => s + v * b[k]!, 0);
  const maxIter = o.maxIter ?? 1000;
  let it = 0;
  let converged = false;
  const nextGrad = new Float64Array(dim);
  const trial = new Float64Array(dim);
  for (; it < maxIter; it++) {
    if (grad.reduce((m, v) => Math.max(m, Math.abs(v)), 0) <= tol) {
      converged = true;
      break;
    }
    // Two-loop recursion: the search direction −H·g.
    const q = Float64Array.from(grad);
    const alpha: number[] = [];
    for (let j = S.length - 1; j >= 0; j--) {
      const a = dot(S[j]!, q) / dot(Y[j]!, S[j]!);
      alpha[j] = a;
      for (let k = 0; k < dim; k++) q[k] -= a * Y[j]![k]!;
    }
    const gamma = S.length ? dot(S.at(-1)!, Y.at(-1)!) / dot(Y.at(-1)!, Y.at(-1)!) : 1 / Math.max(1, Math.sqrt(dot(grad, grad)));
    for (let k = 0; k < dim; k++) q[k] *= gamma;
    for (let j = 0; j < S.length; j++) {
      const beta = dot(Y[j]!, q) / dot(Y[j]!, S[j]!);
      for (let k = 0; k < dim; k++) q[k] += S[j]![k]! * (alpha[j]! - beta);
    }
    for (let k = 0; k < dim; k++) q[k] = -q[k]!;
    // Backtracking line search (Armijo).
    const slope = dot(grad, q);
    let step = 1;
    let fNew = Number.POSITIVE_INFINITY;
    for (let ls = 0; ls < 40; ls++) {
      for (let k = 0; k < dim; k++) trial[k] = theta[k]! + step * q[k]!;
      fNew = f(trial, nextGrad);
      if (fNew <= fx + 1e-4 * step * slope) break;
      step /= 2;
    }
    const s = new Float64Array(dim);
    const yv = new Float64Array(dim);
    for (let k = 0; k < dim; k++) {
      s[k] = trial[k]! - theta[k]!;
      yv[k] = nextGrad[k]! - grad[k]!;
    }
    if (fNew > fx) break; // no progress possible in double precision
    theta.set(trial);
    grad.set(nextGrad);
    fx = fNew;
    if (dot(s, yv) > 1e-12) {
      S.push(s);
      Y.push(yv);
      if (S.length > memory) {
        S.shift();
        Y.shift();
      }
    }
  }
  return { w: Array.from(theta.subarray(0, d)), b: theta[d]!, iterations: it, converged };
}

/** P(y = 1 | x) for each row. */
export function predictLogistic(m: Pick<LogisticModel, 'w' | 'b'>, X: readonly (readonly number[])[]): number[] {
  return X.map((x) => sigmoid(x.reduce((s, v, k) => s + v * m.w[k]!, m.b)));
}
