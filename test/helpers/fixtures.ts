// Where the tests find the repository and the fixtures (the shared HF ones and the Python-made ones).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (tests run from dist/test/helpers/...; LETHE_REPO_ROOT overrides, for builds elsewhere). */
export const repoRoot =
  process.env.LETHE_REPO_ROOT ?? resolve(here, existsSync(join(here, '../../../package.json')) ? '../../..' : '../../../..');
/** ../shared/fixtures/hf-reference, beside the checkout. */
export const fixturesDir = resolve(repoRoot, '../shared/fixtures/hf-reference');

/**
 * A path under ../shared/fixtures/hf-reference (the HF transformers fixtures), checked: a missing
 * file fails with a message naming the shared folder instead of a bare ENOENT.
 */
export function requireFixture(...parts: string[]): string {
  const p = join(fixturesDir, ...parts);
  if (!existsSync(p)) {
    throw new Error(
      `test fixture ${p} is missing: these tests need the shared HF reference fixtures in ${fixturesDir} ` +
        '(the ../shared folder beside the checkout; set LETHE_REPO_ROOT if the checkout lives elsewhere)',
    );
  }
  return p;
}

/** The fixtures this repository makes itself with Python (test/<sub>/ref/...), checked like requireFixture. */
export function requireRepoFixture(...parts: string[]): string {
  const p = join(repoRoot, 'test', ...parts);
  if (!existsSync(p)) throw new Error(`test fixture ${p} is missing (made by the Python script beside it under test/)`);
  return p;
}
