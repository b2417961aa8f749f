// Statistics the metrics need, matching the Python implementations the field reports with:
// scipy.stats.ks_2samp (two-sided; method 'auto' = exact below 10,000 samples per side, as scipy 1.10+),
// sklearn.metrics.roc_auc_score / roc_curve, scipy.stats.hmean.
import { LetheError } from '../util/errors.js';

export interface KsResult {
  statistic: number;
  pvalue: number;
  method: 'exact' | 'asymp';
}

/** scipy switches from the exact distribution to the asymptotic one above this many samples per side. */
export const KS_MAX_EXACT_N = 10000;

function finite(xs: readonly number[], what: string): number[] {
  const out = xs.filter((x) => Number.isFinite(x));
  if (!out.length) throw new LetheError('BAD_INPUT', `${what}: no finite values among ${xs.length}`);
  return out;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Pr(D_{n,n} >= h/n): Hodges' closed form for equal sample sizes (scipy's _compute_prob_outside_square). */
function probOutsideSquare(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    p = p1 * (1 - p);
  }
  return 2 * p;
}

/**
 * Pr(D_{m,n} >= d) by counting the monotone lattice paths from (0,0) to (m,n) that stay strictly
 * inside |x/m - y/n| < d (|ng·x − mg·y| < h in integers), divided by C(m+n, n). Columns are rescaled
 * (exponent kept apart) so large sizes do not overflow.
 */
function probOutsideLattice(m: number, n: number, g: number, h: number): number {
  if (m < n) [m, n] = [n, m];
  const mg = m / g;
  const ng = n / g;
  // a[y] for the current column x; log2 scale kept in `scale`.
  let a = new Float64Array(n + 1);
  let scale = 0;
  const inside = (x: number, y: number) => Math.abs(ng * x - mg * y) < h;
  for (let y = 0; y <= n; y++) a[y] = inside(0, y) ? (y === 0 ? 1 : a[y - 1]!) : 0;
  for (let x = 1; x <= m; x++) {
    const b = new Float64Array(n + 1);
    for (let y = 0; y <= n; y++) {
      if (!inside(x, y)) continue;
      b[y] = a[y]! + (y > 0 ? b[y - 1]! : 0);
    }
    let max = 0;
    for (let y = 0; y <= n; y++) if (b[y]! > max) max = b[y]!;
    if (max > 2 ** 900) {
      const e = Math.floor(Math.log2(max)) - 100;
      for (let y = 0; y <= n; y++) b[y] = b[y]! / 2 ** e;
      scale += e;
    }
    a = b;
  }
  // log2 C(m+n, n)
  let log2Binom = 0;
  for (let j = 1; j <= n; j++) log2Binom += Math.log2(m + j) - Math.log2(j);
  const count = a[n]!;
  if (count === 0) return 1;
  const ratio = 2 ** (Math.log2(count) + scale - log2Binom);
  return 1 - ratio;
}

/** log of C(n, j) for j = 0..n. */
function logBinomials(n: number): Float64Array {
  const out = new Float64Array(n + 1);
  for (let j = 1; j <= n; j++) out[j] = out[j - 1]! + Math.log(n - j + 1) - Math.log(j);
  return out;
}

/** One-sided Smirnov survival function Pr(D+_n >= d), exact (Birnbaum–Tingey sum), as scipy.special.smirnov. */
export function smirnov(n: number, d: number): number {
  if (d <= 0) return 1;
  if (d >= 1) return 0;
  const lb = logBinomials(n);
  let sum = 0;
  for (let j = 0; j <= Math.floor(n * (1 - d)); j++) {
    const a = 1 - d - j / n;
    const b = d + j / n;
    if (a <= 0) {
      continue;
    }
    sum += Math.exp(lb[j]! + (n - j) * Math.log(a) + (j - 1) * Math.log(b));
  }
  return Math.min(1, Math.max(0, d * sum));
}

/** Kolmogorov's limiting distribution: Pr(K >= z) = 2 Σ (-1)^(k-1) exp(-2k²z²). */
export function kolmogorovSf(z: number): number {
  if (z <= 0) return 1;
  if (z < 0.2) return 1;
  let s = 0;
  for (let k = 1; k < 100; k++) {
    const term = Math.exp(-2 * k * k * z * z);
    s += (k % 2 ? 1 : -1) * term;
    if (term < 1e-18) break;
  }
  return Math.min(1, Math.max(0, 2 * s));
}

/**
 * Two-sided one-sample KS survival Pr(D_n >= d) as scipy's kstwo.sf in the range two-sample
 * p-values need: exact for d >= 1/2 and in the tails (2·smirnov where n·d² >= 2.2, which is what
 * scipy uses there for n > 140); elsewhere Kolmogorov's limit evaluated at sqrt(n)·d (scipy uses
 * the Durbin/Pomeranz/Pelz–Good computations there; p-values above ~0.03 differ in the 3rd digit).
 */
export function kstwoSf(n: number, d: number): number {
  if (d >= 1) return 0;
  if (d <= 0) return 1;
  const t = n * d;
  if (t <= 0.5) return 1;
  if (t >= n - 1) return 2 * (1 - d) ** n;
  if (d >= 0.5) return 2 * smirnov(n, d);
  const nx2 = t * d;
  if (nx2 >= 370) return 0;
  if (nx2 >= 2.2) return Math.min(1, 2 * smirnov(n, d));
  return kolmogorovSf(Math.sqrt(n) * d);
}

/** scipy.stats.ks_2samp(a, b) (two-sided): statistic and p-value; method 'auto' as scipy. */
export function ksTwoSample(a: readonly number[], b: readonly number[], method: 'auto' | 'exact' | 'asymp' = 'auto'): KsResult {
  const x = finite(a, 'ks_2samp: first sample').sort((p, q) => p - q);
  const y = finite(b, 'ks_2samp: second sample').sort((p, q) => p - q);
  const n1 = x.length;
  const n2 = y.length;
  // D = max |F1 - F2| over the pooled values (right-continuous ECDFs).
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n1 || j < n2) {
    const v = Math.min(i < n1 ? x[i]! : Infinity, j < n2 ? y[j]! : Infinity);
    while (i < n1 && x[i]! <= v) i++;
    while (j < n2 && y[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / n1 - j / n2));
  }
  let mode: 'exact' | 'asymp' = method === 'auto' ? (Math.max(n1, n2) <= KS_MAX_EXACT_N ? 'exact' : 'asymp') : method;
  const g = gcd(n1, n2);
  if (mode === 'exact') {
    const lcm = (n1 / g) * n2;
    const h = Math.round(d * lcm);
    const dd = h / lcm;
    if (h === 0) return { statistic: dd, pvalue: 1, method: 'exact' };
    const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideLattice(n1, n2, g, h);
    if (Number.isFinite(p) && p >= 0 && p <= 1) return { statistic: dd, pvalue: Math.min(1, Math.max(0, p)), method: 'exact' };
    mode = 'asymp';
  }
  const [m, n] = [n1, n2].sort((p, q) => q - p) as [number, number];
  const en = (m * n) / (m + n);
  return { statistic: d, pvalue: Math.min(1, Math.max(0, kstwoSf(Math.round(en), d))), method: 'asymp' };
}

/** Average ranks (1-based) with ties sharing their mean rank. */
function ranks(xs: readonly number[]): number[] {
  const order = xs.map((v, k) => [v, k] as const).sort((p, q) => p[0] - q[0]);
  const out = new Array<number>(xs.length);
  for (let s = 0; s < order.length; ) {
    let e = s;
    while (e + 1 < order.length && order[e + 1]![0] === order[s]![0]) e++;
    const r = (s + e) / 2 + 1;
    for (let k = s; k <= e; k++) out[order[k]![1]] = r;
    s = e + 1;
  }
  return out;
}

function checkBinary(scores: readonly number[], labels: readonly number[]): void {
  if (scores.length !== labels.length) throw new LetheError('BAD_INPUT', `roc: ${scores.length} scores but ${labels.length} labels`);
  if (!labels.every((l) => l === 0 || l === 1)) throw new LetheError('BAD_INPUT', 'roc: labels must be 0 or 1');
  if (!scores.every((s) => Number.isFinite(s))) throw new LetheError('BAD_INPUT', 'roc: scores must be finite numbers');
  const pos = labels.filter((l) => l === 1).length;
  if (pos === 0 || pos === labels.length)
    throw new LetheError('BAD_INPUT', `roc: need both classes, got ${pos} positive of ${labels.length}`);
}

/** sklearn.metrics.roc_auc_score(labels, scores) for binary labels (ties count one half). */
export function rocAuc(scores: readonly number[], labels: readonly number[]): number {
  checkBinary(scores, labels);
  const r = ranks(scores);
  const nPos = labels.filter((l) => l === 1).length;
  const nNeg = labels.length - nPos;
  let sumPos = 0;
  for (let k = 0; k < r.length; k++) if (labels[k] === 1) sumPos += r[k]!;
  return (sumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

export interface RocCurve {
  fpr: number[];
  tpr: number[];
  thresholds: number[];
}

/** The ROC curve at every distinct score (sklearn's roc_curve with drop_intermediate=False; first point (0,0) at +inf). */
export function rocCurve(scores: readonly number[], labels: readonly number[]): RocCurve {
  checkBinary(scores, labels);
  const order = scores.map((_s, k) => k).sort((p, q) => scores[q]! - scores[p]!);
  const nPos = labels.filter((l) => l === 1).length;
  const nNeg = labels.length - nPos;
  const out: RocCurve = { fpr: [0], tpr: [0], thresholds: [Infinity] };
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const idx = order[k]!;
    if (labels[idx] === 1) tp++;
    else fp++;
    if (k + 1 < order.length && scores[order[k + 1]!] === scores[idx]) continue;
    out.fpr.push(fp / nNeg);
    out.tpr.push(tp / nPos);
    out.thresholds.push(scores[idx]!);
  }
  return out;
}

/** scipy.stats.hmean: n / Σ 1/x (0 if any value is 0; values must be >= 0). */
export function harmonicMean(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  if (xs.some((x) => !(x >= 0))) throw new LetheError('BAD_INPUT', `harmonic mean needs non-negative values, got ${xs.join(', ')}`);
  if (xs.some((x) => x === 0)) return 0;
  return xs.length / xs.reduce((s, x) => s + 1 / x, 0);
}

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** scipy.stats.norm.logpdf(x, mu, sd). */
export function normLogPdf(x: number, mu: number, sd: number): number {
  const z = (x - mu) / sd;
  return -0.5 * z * z - Math.log(sd) - 0.5 * Math.log(2 * Math.PI);
}

/** log erfc(x) for x >= 0: the series of erf below 2.5, a continued fraction (modified Lentz) above,
 *  where erfc is tiny and 1 - erf would lose it (log kept so that p-values far in the tail stay exact). */
function logErfc(x: number): number {
  if (x < 2.5) {
    // erf(x) = 2/√π e^{-x²} Σ 2^n x^{2n+1} / (1·3·…·(2n+1)): positive terms, no cancellation.
    let term = x;
    let sum = x;
    for (let n = 1; n < 200 && term > 1e-17 * sum; n++) {
      term *= (2 * x * x) / (2 * n + 1);
      sum += term;
    }
    return Math.log1p(-(2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum);
  }
  // erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))).
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 1000; n++) {
    const a = n / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return -x * x - 0.5 * Math.log(Math.PI) - Math.log(f);
}

/** scipy.stats.norm.logsf(x, mu, sd): log P(X > x) for X ~ N(mu, sd²). */
export function normLogSf(x: number, mu: number, sd: number): number {
  const z = (x - mu) / sd;
  if (z >= 0) return Math.log(0.5) + logErfc(z / Math.SQRT2);
  return Math.log1p(-0.5 * Math.exp(logErfc(-z / Math.SQRT2)));
}
