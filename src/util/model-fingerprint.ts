// The identity of a model folder: every file in it, weights, config, tokenizer and any other (a
// file that changes what the folder loads as changes it), in a fixed order. The registry and
// release certificates record it; the evaluation cache is keyed by it.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LetheError } from './errors.js';
import { sha256, sha256File } from './hash.js';

export interface ModelFingerprint {
  /** sha256 of the listing of `files` in sha256sum's format ("<hex>  <path>\n" per file, sorted by path). */
  sha256: string;
  /** Each file's sha256, by its path relative to the folder ('/'-separated), sorted. */
  files: Record<string, string>;
}

/** The fingerprint of a model folder (sub-folders included, e.g. a SISA ensemble's constituents). */
export function modelFingerprint(dir: string): ModelFingerprint {
  const files: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) files[relative(dir, p).split('\\').join('/')] = sha256File(p);
    }
  };
  walk(dir);
  const paths = Object.keys(files).sort();
  if (!paths.length) throw new LetheError('BAD_INPUT', `model fingerprint: ${dir} holds no files`);
  const listing = paths.map((p) => `${files[p]}  ${p}\n`).join('');
  return { sha256: sha256(listing), files: Object.fromEntries(paths.map((p) => [p, files[p]!])) };
}
