// Closeness checks whose failure names the element, both values and the tolerance.
import assert from 'node:assert/strict';

export function flat(x: unknown): number[] {
  if (Array.isArray(x)) return x.flatMap(flat);
  if (typeof x === 'boolean') return [x ? 1 : 0];
  return [x as number];
}

/** Asserts |actual - expected| <= atol + rtol * |expected| elementwise (same length). */
export function assertClose(actual: unknown, expected: unknown, { atol = 1e-6, rtol = 1e-5, what = 'value' } = {}): void {
  const a = flat(actual);
  const e = flat(expected);
  assert.equal(a.length, e.length, `${what}: ${a.length} elements, expected ${e.length}`);
  for (let k = 0; k < a.length; k++) {
    const diff = Math.abs(a[k]! - e[k]!);
    if (!(diff <= atol + rtol * Math.abs(e[k]!)) && !(Number.isNaN(a[k]) && Number.isNaN(e[k]))) {
      assert.fail(`${what}[${k}] = ${a[k]}, expected ${e[k]} (diff ${diff}, atol ${atol}, rtol ${rtol})`);
    }
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]! - b[k]!));
  return m;
}
