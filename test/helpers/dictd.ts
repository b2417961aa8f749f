// Whether the Debian dictd corpora that the suite builders read are installed (npm run setup installs them).
import { DICT_PACKAGES, dictdAvailable } from '../../src/data/dictd.js';

/** The corpora the full training suites read. */
export const SUITE_CORPORA = ['jargon', 'devil', 'gcide', 'elements'];

/** A node:test `skip` value: false when every corpus is installed, else the reason naming the missing ones. */
export function skipWithoutDictd(corpora: string[] = SUITE_CORPORA): string | false {
  const missing = corpora.filter((n) => !dictdAvailable(n));
  return missing.length
    ? `dictd corpora not installed: ${missing.map((n) => DICT_PACKAGES[n] ?? n).join(', ')} (npm run setup installs them)`
    : false;
}
