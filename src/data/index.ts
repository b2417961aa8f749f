// The data suites by name, for `lethe data build`.
import { join } from 'node:path';
import { buildPersona } from './persona.js';
import { buildBook } from './book.js';
import { buildGeneral } from './general.js';
import { buildBias } from './bias.js';
import { buildSecrets } from './secrets.js';
import { writeSuite, type BuildOptions, type BuiltSuite, type Manifest, type SuiteSize } from './suite.js';
import { LetheError } from '../util/errors.js';

export const SUITES: Record<string, (o: BuildOptions) => BuiltSuite> = {
  persona: (o) => buildPersona(o),
  book: (o) => buildBook(o),
  general: (o) => buildGeneral(o),
  bias: (o) => buildBias(o),
  secrets: (o) => buildSecrets(o),
};

/** What "all" builds: the suites `lethe train` and the demo need (behaviour suites are built by name). */
export const CORE_SUITES = ['persona', 'book', 'general'];

export const SUITE_NAMES = [...Object.keys(SUITES), 'all'];

export function checkSize(size: string): SuiteSize {
  if (size !== 'tiny' && size !== 'small' && size !== 'full')
    throw new LetheError('BAD_INPUT', `--size must be tiny, small or full, got '${size}'`);
  return size;
}

/** Builds one suite into outDir, or with 'all' every suite into outDir/<suite>. */
export function buildSuite(name: string, outDir: string, options: BuildOptions, generator: string): Manifest[] {
  if (name === 'all') return CORE_SUITES.flatMap((s) => buildSuite(s, join(outDir, s), options, generator));
  const build = SUITES[name];
  if (!build) throw new LetheError('NOT_FOUND', `unknown suite '${name}' (expected ${[...Object.keys(SUITES), 'all'].join(', ')})`);
  return [writeSuite(outDir, build(options), options, generator)];
}

export { writeSuite, type BuildOptions, type BuiltSuite, type Manifest, type SuiteSize } from './suite.js';
export { Rng } from './rng.js';
