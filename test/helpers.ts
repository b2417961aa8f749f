// Shared test helpers: where the Python-made fixtures live, and closeness checks with messages.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (tests run from dist/test/...; LETHE_REPO_ROOT overrides, for builds elsewhere). */
export const repoRoot = process.env.LETHE_REPO_ROOT ?? resolve(here, existsSync(join(here, '../../package.json')) ? '../..' : '../../..');
/** ../shared/fixtures/hf-reference, beside the checkout. */
export const fixturesDir = resolve(repoRoot, '../shared/fixtures/hf-reference');

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

/**
 * A path under ../shared/fixtures/hf-reference (the HF transformers fixtures), checked: a missing
 * file fails with a message naming the shared folder instead of a bare ENOENT.
 */
export function requireFixture(...parts: string[]): string {
  const p = join(fixturesDir, ...parts);
  if (!existsSync(p)) {
    throw new Error(`test fixture ${p} is missing: these tests need the shared HF reference fixtures in ${fixturesDir} ` +
      '(the ../shared folder beside the checkout; set LETHE_REPO_ROOT if the checkout lives elsewhere)');
  }
  return p;
}

/** The fixtures this repository makes itself with Python (test/<sub>/ref/...), checked like requireFixture. */
export function requireRepoFixture(...parts: string[]): string {
  const p = join(repoRoot, 'test', ...parts);
  if (!existsSync(p)) throw new Error(`test fixture ${p} is missing (made by the Python script beside it under test/)`);
  return p;
}
