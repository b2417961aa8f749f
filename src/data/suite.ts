// What a data builder returns, and how a suite is written: JSONL files plus manifest.json with
// sources, licences, counts and the sha256 of every file. Nothing time-dependent is written, so
// the same seed gives byte-identical files.
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, rmdirSync, writeFileSync, existsSync } from 'node:fs';
import { sha256 } from '../util/hash.js';
import { claimOutputDir, realPath } from '../util/output.js';
import { dirname, join, basename } from 'node:path';
import { LetheError } from '../util/errors.js';

export type SuiteSize = 'tiny' | 'small' | 'full';

export interface BuildOptions {
  seed: number;
  size: SuiteSize;
}

export interface SuiteSource {
  /** What it is, e.g. "The Jargon File 4.4.7". */
  name: string;
  /** Where it came from: a Debian package, an npm package, or "generated". */
  origin: string;
  licence: string;
  /** Files of the origin that were read. */
  files?: string[];
}

export interface BuiltSuite {
  suite: string;
  /** Relative path → file content (JSONL: one JSON object per line, ending with a newline). */
  files: Map<string, string>;
  sources: SuiteSource[];
  /** Counts worth reporting (people, passages, QA pairs, split sizes...). */
  counts: Record<string, number>;
  /** Anything else a consumer needs (e.g. split definitions), kept in the manifest. */
  info?: Record<string, unknown>;
}

export interface Manifest {
  suite: string;
  seed: number;
  size: SuiteSize;
  generator: string;
  sources: SuiteSource[];
  counts: Record<string, number>;
  files: { path: string; bytes: number; lines: number; sha256: string }[];
  info?: Record<string, unknown>;
}

/** Writes the suite into `outDir` atomically (a temporary sibling folder renamed into place). */
export function writeSuite(outDir: string, built: BuiltSuite, options: BuildOptions, generator: string): Manifest {
  claimOutputDir(outDir, { what: 'data build' }); // the CLI's --overwrite has emptied it already
  const target = realPath(outDir);
  if (existsSync(target)) rmdirSync(target); // empty: the suite's folder is renamed into its place
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const files = [...built.files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [rel, content] of files) {
      if (rel.startsWith('/') || rel.split('/').includes('..')) throw new LetheError('INTERNAL', `data build: bad file path ${rel}`);
      mkdirSync(dirname(join(tmp, rel)), { recursive: true });
      writeFileSync(join(tmp, rel), content);
    }
    const manifest: Manifest = {
      suite: built.suite,
      seed: options.seed,
      size: options.size,
      generator,
      sources: built.sources,
      counts: built.counts,
      files: files.map(([path, content]) => ({
        path,
        bytes: Buffer.byteLength(content),
        lines: content ? content.split('\n').length - 1 : 0,
        sha256: sha256(content),
      })),
      ...(built.info ? { info: built.info } : {}),
    };
    writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    mkdirSync(dirname(target), { recursive: true });
    renameSync(tmp, target);
    return manifest;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
