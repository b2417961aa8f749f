// The per-metric result cache: results on disk by content, so that a retain model is evaluated once
// however many unlearned models are compared with it. An entry is keyed by the model's fingerprint,
// the metric and its parameters, the content of the item sets it reads, the prompt format and
// EVAL_CACHE_VERSION.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { adapterBase } from '../models/load.js';
import type { PromptFormat } from '../train/prompt.js';
import { writeFileAtomic } from '../util/atomic.js';
import { sha256 } from '../util/hash.js';
import { modelFingerprint } from '../util/model-fingerprint.js';
import { toJson } from './eval-file.js';
import type { EvalItemSet, MetricDefinition, MetricResult } from './metrics/index.js';
import { LetheError } from '../util/errors.js';

/** Bumped when a change alters cached results or their keys (3: a model is identified by
 *  modelFingerprint, every file of its folder, tokenizer included; 4: a metric without its inputs is
 *  null with a reason, no longer 0). Also EVAL.json's lethe_eval_version. */
export const EVAL_CACHE_VERSION = 4;

const fingerprints = new Map<string, string>();

/** Every file under a folder with its size and modification time: when it is unchanged, so is the fingerprint. */
function folderStamp(dir: string): string {
  const parts: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) parts.push(`${relative(dir, p)}:${st.size}:${st.mtimeMs}`);
    }
  };
  walk(dir);
  return parts.join('|');
}

/** A model folder's identity for the cache: its fingerprint (memoised per path while no file changes);
 *  a LoRA adapter's also covers its base model, which it loads from outside its folder. */
export function modelCacheHash(dir: string): string {
  const hasConfig = existsSync(join(dir, 'config.json'));
  if (!hasConfig && existsSync(join(dir, 'adapter_config.json')))
    return sha256(`lora|${fingerprintOf(dir)}|${modelCacheHash(adapterBase(dir))}`);
  if (!hasConfig && !existsSync(join(dir, 'sisa.json')))
    throw new LetheError('NOT_FOUND', `${dir} has no config.json (not a model folder)`);
  return fingerprintOf(dir);
}

function fingerprintOf(dir: string): string {
  const key = `${resolve(dir)}|${folderStamp(dir)}`;
  let hit = fingerprints.get(key);
  if (!hit) {
    hit = modelFingerprint(dir).sha256;
    fingerprints.set(key, hit);
  }
  return hit;
}

/** Where a metric's result on one model is cached, or null when it is not (a metric derived from other
 *  results or from a reference model: cheap, or not the model's alone). */
export function cacheFile(
  cacheDir: string,
  modelHash: string,
  m: MetricDefinition,
  set: (name: string) => EvalItemSet,
  format: PromptFormat,
  eos: number | null,
): string | null {
  if (m.needs.some((n) => !('set' in n) || n.kind === 'reference' || n.kind === 'referenceNll')) return null;
  const sets = m.needs
    .map((n) => ('set' in n ? n.set : ''))
    .filter(Boolean)
    .sort();
  const content = sets.map((s) => sha256(JSON.stringify(set(s).items)));
  const key = sha256(JSON.stringify({ v: EVAL_CACHE_VERSION, metric: m.name, params: m.params ?? null, sets, content, format, eos }));
  return join(cacheDir, modelHash.slice(0, 24), `${m.name}-${key.slice(0, 24)}.json`);
}

/** A cached result, or null (none, or a damaged entry, which is computed again). */
export function readCached(file: string): MetricResult | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as MetricResult;
  } catch {
    return null;
  }
}

export function writeCached(file: string, r: MetricResult): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomic(file, toJson(r), { fsync: true });
}
