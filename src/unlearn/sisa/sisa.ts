// SISA for language models (Bourtoule et al. 2021, "Machine Unlearning"): exact unlearning by
// sharding. K constituent models are trained from one base, each only on its shard; all records
// with the same key value (e.g. a person_id) fall in one shard, chosen by a stable hash of the key.
// Within a shard each record belongs to one of S slices (a stable hash of its content), and the
// shard trains slice by slice, stage i on slices 1..i together, with a checkpoint after every
// stage. Forgetting a record retrains only its shard, from the checkpoint before the first stage
// whose data changed; the result equals, bit for bit, training without the record from the start,
// because everything a stage does depends only on its records and the seed:
//  - a stage's records are sorted by content hash (file order plays no part),
//  - its seed is a hash of (seed, shard, slice), its batches train/batches.batchAt of those records,
//  - it starts from the previous stage's saved weights (float32, exact) with a fresh optimizer.
// The folder (sisa.json + shard-k/slice-i/ model folders) loads as one model that averages the
// constituents' probabilities (models/ensemble.ts; loadModel detects it).
import { copyTokenizer } from '../../train/trainer.js';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as torch from '../../torch/index.js';
import { loadModel, type LoadModelOptions } from '../../models/load.js';
import { loadTokenizer, type Tokenizer } from '../../models/tokenizer.js';
import type { CausalLM } from '../../models/model.js';
import { modelLoss } from '../../models/loss.js';
import { ENSEMBLE_MANIFEST, isEnsembleFolder } from '../../models/ensemble.js';
import { LetheError, typeOf } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { canonicalJson, sha256, sha256File } from '../../util/hash.js';
import { claimOutputDir } from '../../util/output.js';
import { readRows, encodeRow, type DataRow } from '../../train/examples.js';
import { batchAt, collate, stepsPerEpoch, type Example } from '../../train/batches.js';
import type { PromptFormat } from '../../train/prompt.js';
import type { TrainingOptions } from '../../train/options.js';
import { runLoop } from '../../train/loop.js';
import { allGatherJson, isMainRank, onMainRank, roundRobin } from '../../train/parallel.js';

export interface SisaRecord {
  /** sha256 of the row's canonical JSON (sorted keys): the record's id; the content itself is not stored. */
  id: string;
  /** sha256 of the key value (as a string). */
  key: string;
  shard: number;
  slice: number;
}

export interface SisaStage {
  shard: number;
  slice: number;
  /** Records trained on in this stage (slices 0..slice of the shard). */
  records: number;
  steps: number;
  seed: number;
  /** The model folder saved after the stage, relative to the SISA folder. */
  checkpoint: string;
}

export interface SisaTraining {
  epochs: number;
  lr: number;
  batchSize: number;
  maxLength: number;
  format: PromptFormat | null;
}

export interface SisaManifest {
  format: 'lethe-sisa';
  version: 1;
  /** How the constituents answer together (models/ensemble.ts). */
  combine: 'mean-probability';
  /** The constituents, one per shard: each shard's last checkpoint. */
  constituents: string[];
  base: { dir: string; sha256: string };
  data: { file: string; sha256: string };
  key: string;
  shards: number;
  slices: number;
  seed: number;
  training: SisaTraining;
  records: SisaRecord[];
  stages: SisaStage[];
  history: SisaForgetRecord[];
}

export interface SisaForgetRecord {
  at: string;
  removed: number;
  shardsRetrained: number[];
  fromSlice: Record<string, number>;
  stepsRetrained: number;
  stepsFull: number;
}

/** SISA's stages train on the loop with these of the shared settings (epochs: of every stage over its
 *  records, default 3); a non-empty outDir is refused without overwrite (there is no resume). */
export interface SisaTrainOptions
  extends Pick<TrainingOptions, 'epochs' | 'lr' | 'batchSize' | 'seed' | 'device' | 'format' | 'maxLength' | 'overwrite' | 'report'> {
  modelDir: string;
  dataFile: string;
  shards: number;
  slices: number;
  key: string;
  outDir: string;
}

export const recordId = (row: DataRow): string => sha256(canonicalJson(row));
export const keyHash = (value: string | number): string => sha256(String(value));
const bucket = (hex: string, n: number) => Number.parseInt(hex.slice(0, 12), 16) % n;
export const shardOf = (keyHex: string, shards: number) => bucket(keyHex, shards);
export const sliceOf = (id: string, slices: number) => bucket(sha256(`slice:${id}`), slices);
/** The seed of one stage: depends on (seed, shard, slice) only. */
export const stageSeed = (seed: number, shard: number, slice: number) =>
  Number.parseInt(sha256(`sisa:${seed}:${shard}:${slice}`).slice(0, 8), 16) >>> 1;

/** The base model's identity in the manifest (base.sha256): its weights (every *.safetensors file, by
 *  name) and config. Not util's modelFingerprint: manifests written so far record this, and `sisa
 *  forget` compares it to refuse a base that changed. */
function baseModelHash(dir: string): string {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors') || f === 'config.json')
    .sort();
  return sha256(files.map((f) => `${f}:${sha256File(join(dir, f))}`).join('\n'));
}

/** The data file's rows with their line numbers, each record's key checked. */
export function readKeyedRows(file: string, key: string): { rows: DataRow[]; lines: number[]; keys: string[] } {
  const { rows, lines } = readRows(file, 'data');
  const keys = rows.map((r, i) => {
    const v = r[key];
    if (v === undefined || v === null)
      throw new LetheError(
        'BAD_INPUT',
        `${file}:${lines[i]}: no '${key}' field (--key names the field that groups records, e.g. a person id)`,
      );
    if (typeof v !== 'string' && typeof v !== 'number')
      throw new LetheError('BAD_INPUT', `${file}:${lines[i]}: '${key}' must be a string or a number, got ${typeOf(v)}`);
    if (typeof v === 'string' && !v.trim()) throw new LetheError('BAD_INPUT', `${file}:${lines[i]}: '${key}' is empty`);
    return keyHash(v);
  });
  return { rows, lines, keys };
}

/** Steps of one stage over n records (0 when it has none). */
function stageSteps(n: number, t: SisaTraining): number {
  if (!n) return 0;
  return Math.max(1, t.epochs * stepsPerEpoch(n, t.batchSize));
}

interface ShardJob {
  dir: string;
  shard: number;
  fromSlice: number;
  slices: number;
  seed: number;
  training: SisaTraining;
  /** The shard's records (sorted by id) with their rows. */
  records: { rec: SisaRecord; row: DataRow }[];
  tok: Tokenizer;
  device: torch.Device;
  report: (line: string) => void;
}

/** Trains stages fromSlice..slices-1 of one shard, starting from `model` (which it frees). */
async function trainShard(model: CausalLM, job: ShardJob): Promise<SisaStage[]> {
  const t = job.training;
  const stages: SisaStage[] = [];
  const encoded: { ex: Example; slice: number }[] = [];
  for (const { rec, row } of job.records)
    encoded.push({ ex: await encodeRow(job.tok, row, { format: t.format ?? undefined, maxLength: t.maxLength }), slice: rec.slice });
  try {
    for (let slice = job.fromSlice; slice < job.slices; slice++) {
      const examples = encoded.filter((e) => e.slice <= slice).map((e) => e.ex);
      const steps = stageSteps(examples.length, t);
      const seed = stageSeed(job.seed, job.shard, slice);
      const checkpoint = `shard-${job.shard}/slice-${slice}`;
      const out = join(job.dir, checkpoint);
      if (steps === 0) {
        model.eval();
        model.savePretrained(out);
      } else {
        const bs = Math.min(t.batchSize, examples.length);
        await runLoop({
          name: `sisa:shard-${job.shard}:slice-${slice}`,
          model,
          totalSteps: steps,
          seed,
          outDir: out,
          checkpointEvery: 0,
          report: job.report,
          local: true,
          optim: { lr: t.lr, weightDecay: 0, warmupSteps: Math.min(10, Math.floor(steps / 10)), schedule: 'linear' },
          batch: (step) => collate(batchAt(examples, bs, step, seed), job.tok.padTokenId, job.device),
          loss: (b) => modelLoss(model, b.ids, b.labels),
          release: (b) => torch.dispose([b.ids, b.labels]),
          tokensOf: (b) => b.tokens,
          save: (m, dir) => m.savePretrained(dir),
        });
      }
      stages.push({ shard: job.shard, slice, records: examples.length, steps, seed, checkpoint });
    }
    return stages;
  } finally {
    model.dispose();
  }
}

function writeManifest(dir: string, m: SisaManifest): void {
  // The folder loads as one model: it carries the base's tokenizer beside sisa.json.
  copyTokenizer(m.base.dir, dir);
  writeFileAtomic(join(dir, ENSEMBLE_MANIFEST), JSON.stringify(m, null, 2) + '\n', { fsync: true });
}

export function readSisaManifest(dir: string): SisaManifest {
  const path = join(dir, ENSEMBLE_MANIFEST);
  if (!existsSync(path))
    throw new LetheError('NOT_FOUND', `${dir} is not a SISA folder (no ${ENSEMBLE_MANIFEST}; make one with \`lethe sisa train\`)`);
  let m: SisaManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as SisaManifest;
  } catch (err) {
    throw new LetheError('BAD_INPUT', `${path}: not JSON (${(err as Error).message})`);
  }
  if (m.format !== 'lethe-sisa' || m.version !== 1)
    throw new LetheError(
      'BAD_INPUT',
      `${path}: not a Lethe SISA manifest (format ${JSON.stringify(m.format)}, version ${JSON.stringify(m.version)})`,
    );
  return m;
}

export interface SisaTrainResult {
  outDir: string;
  steps: number;
  records: number;
  perShard: number[];
}

function checkCounts(o: { shards: number; slices: number; epochs?: number; batchSize?: number }): void {
  for (const [name, v] of [
    ['shards', o.shards],
    ['slices', o.slices],
    ['epochs', o.epochs],
    ['batch-size', o.batchSize],
  ] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v > 0))
      throw new LetheError('BAD_INPUT', `sisa train: '--${name}' must be a positive integer, got ${v}`);
  }
}

export async function sisaTrain(o: SisaTrainOptions): Promise<SisaTrainResult> {
  const report = o.report ?? ((l: string) => process.stderr.write(l + '\n'));
  checkCounts(o);
  if (!o.key) throw new LetheError('BAD_INPUT', 'sisa train: give --key, the field that groups records (e.g. person_id)');
  if (!existsSync(join(o.modelDir, 'config.json')))
    throw new LetheError('NOT_FOUND', `sisa train: --model ${o.modelDir} is not a Hugging Face model folder (no config.json)`);
  const { rows, keys } = readKeyedRows(o.dataFile, o.key);
  claimOutputDir(o.outDir, {
    what: 'sisa train',
    overwrite: o.overwrite,
    checkOnly: !isMainRank(),
    inputs: [
      { name: 'the base model folder --model', path: o.modelDir },
      { name: '--data', path: o.dataFile },
    ],
  });
  const device = o.device ?? 'cpu';
  const base = loadModel(o.modelDir, { device });
  const training: SisaTraining = {
    epochs: o.epochs ?? 3,
    lr: o.lr ?? 1e-4,
    batchSize: o.batchSize ?? 8,
    maxLength: o.maxLength ?? base.config.maxPositionEmbeddings,
    format: o.format ?? null,
  };
  base.dispose();
  const records: { rec: SisaRecord; row: DataRow }[] = rows.map((row, i) => {
    const id = recordId(row);
    return { rec: { id, key: keys[i]!, shard: shardOf(keys[i]!, o.shards), slice: sliceOf(id, o.slices) }, row };
  });
  records.sort((a, b) => (a.rec.id < b.rec.id ? -1 : a.rec.id > b.rec.id ? 1 : 0));
  const manifest: SisaManifest = {
    format: 'lethe-sisa',
    version: 1,
    combine: 'mean-probability',
    constituents: [],
    base: { dir: resolve(o.modelDir), sha256: baseModelHash(o.modelDir) },
    data: { file: resolve(o.dataFile), sha256: sha256File(o.dataFile) },
    key: o.key,
    shards: o.shards,
    slices: o.slices,
    seed: o.seed ?? 0,
    training,
    records: [],
    stages: [],
    history: [],
  };
  await onMainRank(() => {
    mkdirSync(o.outDir, { recursive: true });
  }); // every rank has checked --out first
  const tok = loadTokenizer(o.modelDir);
  const shards = Array.from({ length: o.shards }, (_, shard) => shard);
  const perShard = shards.map((shard) => records.filter((r) => r.rec.shard === shard).length);
  // With --nproc N, N shards train at once, one per process.
  const stages = await roundRobin(shards, async (shard) => {
    const mine = records.filter((r) => r.rec.shard === shard);
    report(`[sisa] shard ${shard}: ${mine.length} records in ${o.slices} slices`);
    return trainShard(loadModel(o.modelDir, { device }), {
      dir: o.outDir,
      shard,
      fromSlice: 0,
      slices: o.slices,
      seed: manifest.seed,
      training,
      records: mine,
      tok,
      device,
      report,
    });
  });
  manifest.stages.push(...stages.flat());
  const steps = manifest.stages.reduce((s, st) => s + st.steps, 0);
  if (!isMainRank()) return { outDir: o.outDir, steps, records: rows.length, perShard };
  finish(
    manifest,
    records.map((r) => r.rec),
  );
  writeManifest(o.outDir, manifest);
  report(`[sisa] ${o.shards} constituents, ${steps} steps, ${rows.length} records → ${o.outDir}`);
  return { outDir: o.outDir, steps, records: rows.length, perShard };
}

function finish(m: SisaManifest, records: SisaRecord[]): void {
  m.records = [...records].sort((a, b) => a.shard - b.shard || a.slice - b.slice || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  m.stages.sort((a, b) => a.shard - b.shard || a.slice - b.slice);
  m.constituents = Array.from({ length: m.shards }, (_, k) => `shard-${k}/slice-${m.slices - 1}`);
}

export interface SisaForgetOptions {
  dir: string;
  outDir: string;
  /** Replace a non-empty outDir (its contents are deleted first); without it a non-empty outDir is refused. */
  overwrite?: boolean;
  /** Forget every record whose key field has this value. */
  key?: string;
  /** A file of records to forget: one record id (64 hex digits) or one JSON row per line. */
  idsFile?: string;
  /** The data the ensemble was trained on (default: the file sisa.json names). */
  dataFile?: string;
  device?: torch.Device;
  report?: (line: string) => void;
}

export interface SisaForgetResult {
  outDir: string;
  removed: number;
  shardsRetrained: number[];
  stepsRetrained: number;
  stepsFull: number;
}

/** The record ids an --ids file names (hashes, or rows that are hashed). */
export function readIdsFile(path: string): string[] {
  if (!existsSync(path) || !statSync(path).isFile()) throw new LetheError('NOT_FOUND', `sisa forget: --ids file ${path} does not exist`);
  const out: string[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const s = line.trim();
      if (!s) return;
      if (/^[0-9a-f]{64}$/i.test(s)) {
        out.push(s.toLowerCase());
        return;
      }
      let row: unknown;
      try {
        row = JSON.parse(s);
      } catch {
        throw new LetheError(
          'BAD_INPUT',
          `${path}:${i + 1}: expected a record id (64 hex digits) or a JSON row, got neither (the line is not quoted: it may be personal data)`,
        );
      }
      if (!row || typeof row !== 'object' || Array.isArray(row))
        throw new LetheError('BAD_INPUT', `${path}:${i + 1}: expected a record id or a JSON object row`);
      out.push(recordId(row as DataRow));
    });
  if (!out.length) throw new LetheError('BAD_INPUT', `sisa forget: --ids file ${path} names no record`);
  return out;
}

export async function sisaForget(o: SisaForgetOptions): Promise<SisaForgetResult> {
  const report = o.report ?? ((l: string) => process.stderr.write(l + '\n'));
  const m = readSisaManifest(o.dir);
  if ((o.key === undefined) === (o.idsFile === undefined))
    throw new LetheError('BAD_INPUT', 'sisa forget: give --key VALUE or --ids FILE (one of them)');
  claimOutputDir(o.outDir, {
    what: 'sisa forget',
    overwrite: o.overwrite,
    checkOnly: !isMainRank(),
    inputs: [
      { name: 'the SISA folder', path: o.dir },
      { name: 'its base model', path: m.base.dir },
      ...(o.dataFile ? [{ name: '--data', path: o.dataFile }] : [{ name: 'its data', path: m.data.file }]),
      ...(o.idsFile ? [{ name: '--ids', path: o.idsFile }] : []),
    ],
  });
  if (!existsSync(join(m.base.dir, 'config.json')))
    throw new LetheError('NOT_FOUND', `sisa forget: the base model ${m.base.dir} that sisa.json names is gone (retraining starts from it)`);
  if (baseModelHash(m.base.dir) !== m.base.sha256)
    throw new LetheError(
      'BAD_INPUT',
      `sisa forget: the base model ${m.base.dir} changed since the ensemble was trained; retraining from it would not be exact`,
    );

  // What to remove.
  let doomed: Set<string>;
  if (o.key !== undefined) {
    const h = keyHash(o.key);
    doomed = new Set(m.records.filter((r) => r.key === h).map((r) => r.id));
    if (!doomed.size) throw new LetheError('NOT_FOUND', `sisa forget: no record of ${o.dir} has ${m.key} = ${JSON.stringify(o.key)}`);
  } else {
    const ids = readIdsFile(o.idsFile!);
    const known = new Set(m.records.map((r) => r.id));
    const unknown = ids.filter((id) => !known.has(id));
    if (unknown.length)
      throw new LetheError(
        'NOT_FOUND',
        `sisa forget: ${unknown.length} of the ${ids.length} records in ${o.idsFile} are not in ${o.dir} (e.g. ${unknown[0]})`,
      );
    doomed = new Set(ids);
  }
  const removed = m.records.filter((r) => doomed.has(r.id));
  const remaining = m.records.filter((r) => !doomed.has(r.id));
  const fromSlice = new Map<number, number>();
  for (const r of removed) fromSlice.set(r.shard, Math.min(fromSlice.get(r.shard) ?? Infinity, r.slice));

  // The remaining records' rows, from the data file (the manifest holds only their hashes).
  const dataFile = o.dataFile ?? m.data.file;
  const { rows } = readKeyedRows(dataFile, m.key);
  const byId = new Map<string, DataRow>();
  for (const row of rows) {
    const id = recordId(row);
    if (!byId.has(id)) byId.set(id, row);
  }
  const needed = remaining.filter((r) => fromSlice.has(r.shard));
  const missing = needed.filter((r) => !byId.has(r.id));
  if (missing.length)
    throw new LetheError(
      'BAD_INPUT',
      `sisa forget: ${dataFile} lacks ${missing.length} records the retrained shards need (e.g. id ${missing[0]!.id}); give the data the ensemble was trained on with --data`,
    );

  // Copy what stays, then retrain each affected shard from its checkpoint before the first changed slice.
  const device = o.device ?? 'cpu';
  const tmp = `${resolve(o.outDir)}.tmp-${allGatherJson(process.pid)[0]}`; // rank 0's: one folder for all ranks
  await onMainRank(() => {
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    for (const st of m.stages) {
      const from = fromSlice.get(st.shard);
      if (from === undefined || st.slice < from) cpSync(join(o.dir, st.checkpoint), join(tmp, st.checkpoint), { recursive: true });
    }
  });
  try {
    const tok = loadTokenizer(m.base.dir);
    const stages = m.stages.filter((st) => {
      const from = fromSlice.get(st.shard);
      return from === undefined || st.slice < from;
    });
    // With --nproc N, N affected shards retrain at once, one per process.
    const retrained = await roundRobin(
      [...fromSlice].sort((a, b) => a[0] - b[0]),
      async ([shard, from]) => {
        const mine = needed
          .filter((r) => r.shard === shard)
          .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
          .map((rec) => ({ rec, row: byId.get(rec.id)! }));
        const start = from === 0 ? m.base.dir : join(tmp, `shard-${shard}/slice-${from - 1}`);
        report(
          `[sisa] forgetting ${removed.filter((r) => r.shard === shard).length} records of shard ${shard}: retraining slices ${from}..${m.slices - 1} from ${from === 0 ? 'the base model' : `the checkpoint after slice ${from - 1}`}`,
        );
        return trainShard(loadModel(start, { device } as LoadModelOptions), {
          dir: tmp,
          shard,
          fromSlice: from,
          slices: m.slices,
          seed: m.seed,
          training: m.training,
          records: mine,
          tok,
          device,
          report,
        });
      },
    );
    const stepsRetrained = retrained.flat().reduce((s, st) => s + st.steps, 0);
    stages.push(...retrained.flat());
    // What retraining every shard on the remaining records would cost.
    let stepsFull = 0;
    for (let shard = 0; shard < m.shards; shard++) {
      for (let slice = 0; slice < m.slices; slice++)
        stepsFull += stageSteps(remaining.filter((r) => r.shard === shard && r.slice <= slice).length, m.training);
    }
    const shardsRetrained = [...fromSlice.keys()].sort((a, b) => a - b);
    const next: SisaManifest = {
      ...m,
      stages,
      history: [
        ...m.history,
        {
          at: new Date().toISOString(),
          removed: removed.length,
          shardsRetrained,
          fromSlice: Object.fromEntries([...fromSlice].map(([k, v]) => [String(k), v])),
          stepsRetrained,
          stepsFull,
        },
      ],
    };
    if (o.dataFile) next.data = { file: resolve(o.dataFile), sha256: sha256File(o.dataFile) };
    if (!isMainRank()) return { outDir: o.outDir, removed: removed.length, shardsRetrained, stepsRetrained, stepsFull };
    finish(next, remaining);
    writeManifest(tmp, next);
    renameSync(tmp, o.outDir);
    const saved = stepsFull ? (100 * (1 - stepsRetrained / stepsFull)).toFixed(0) : '0';
    report(
      `[sisa] removed ${removed.length} records; retrained ${shardsRetrained.length} of ${m.shards} shards: ${stepsRetrained} steps instead of ${stepsFull} for retraining everything (${saved}% saved) → ${o.outDir}`,
    );
    return { outDir: o.outDir, removed: removed.length, shardsRetrained, stepsRetrained, stepsFull };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** A SISA folder as one model: the constituents' next-token probabilities averaged (log of the mean as logits). */
export function loadSisaModel(dir: string, options: LoadModelOptions = {}): CausalLM {
  readSisaManifest(dir);
  if (!isEnsembleFolder(dir))
    throw new LetheError('BAD_INPUT', `${dir} holds a config.json beside sisa.json; a SISA folder holds only sisa.json and shard folders`);
  return loadModel(dir, options);
}
