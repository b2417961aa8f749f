// The shadow models behind `lethe eval --mia lira`: K copies of a base model (the one the target was
// fine-tuned from) each fine-tuned with the one training loop on a random half of the candidate records
// (forget ∪ holdout), plus any rows every shadow trains on (--shadow-data, e.g. the retain set, so that
// the shadows are trained like the target). Shadows come in complementary pairs: shadow 2j trains on a
// random half, shadow 2j+1 on the other half, so every record is IN for half of an even K and OUT for
// the rest, and shadow k depends only on (its pair, its side), not on K: a run with more shadows reuses
// the ones trained before. Each shadow and its per-record losses are cached by content (the base
// model's fingerprint, the candidates, the extra data, the training settings, the seed, the pair and
// side; the losses also by the scored token ids). Only record indices are written beside the weights.
// The cached shadows were trained on the candidate records: they hold what the target held, and go
// with it when those records are erased (delete <cache>/shadows).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../models/load.js';
import type { CausalLM } from '../models/model.js';
import { loadTokenizer } from '../models/tokenizer.js';
import { encodeRows, readRows, type DataRow } from '../train/examples.js';
import { finetuneLoaded } from '../train/finetune.js';
import { finishedRun, hasCheckpoint } from '../train/loop.js';
import type { PromptFormat } from '../train/prompt.js';
import { Rng } from '../data/rng.js';
import { writeFileAtomic } from '../util/atomic.js';
import { LetheError, invalidArgument } from '../util/errors.js';
import { sha256, sha256File } from '../util/hash.js';
import type { EvalItemSet } from './metrics/index.js';
import { sequenceStats, type EncodedSeq } from './providers.js';
import { modelCacheHash } from './result-cache.js';
import { avgLoss } from './scores.js';

export interface ShadowTraining {
  epochs: number;
  lr: number;
  batchSize: number;
  seed: number;
}

export interface ShadowSpec extends ShadowTraining {
  /** How many shadows (at least 4; an even count makes every record IN for exactly half). */
  count: number;
  /** The model every shadow is fine-tuned from. */
  baseDir: string;
  /** Rows every shadow also trains on (JSONL). */
  dataFile?: string;
}

/** Per record of a set, per shadow: the record's mean token NLL under the shadow and whether it trained on it. */
export interface ShadowSide {
  loss: number[][];
  member: boolean[][];
}

export interface ShadowLosses {
  count: number;
  forget: ShadowSide;
  holdout: ShadowSide;
}

/** The tiny preset's fine-tune (src/train/presets.ts): 8 epochs, lr 1e-3, batches of 16. */
export const SHADOW_TRAINING_DEFAULTS: ShadowTraining = { epochs: 8, lr: 1e-3, batchSize: 16, seed: 0 };

/** "epochs=8,lr=1e-3,batch=16,seed=0" (any subset). */
export function parseShadowTraining(spec: string): ShadowTraining {
  const out = { ...SHADOW_TRAINING_DEFAULTS };
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [k, v = ''] = part.split('=');
    const n = Number(v);
    if (k === 'epochs' || k === 'batch' || k === 'seed') {
      if (!(Number.isInteger(n) && n >= (k === 'seed' ? 0 : 1)))
        throw invalidArgument('--shadow-train', k, k === 'seed' ? 'a non-negative integer' : 'a positive integer', v);
      if (k === 'batch') out.batchSize = n;
      else out[k] = n;
    } else if (k === 'lr') {
      if (!(n > 0)) throw invalidArgument('--shadow-train', 'lr', 'a positive number', v);
      out.lr = n;
    } else throw new LetheError('BAD_INPUT', `--shadow-train: unknown key '${k}' (expected epochs, lr, batch, seed)`);
  }
  return out;
}

/** Candidate indices (0 … n−1) shadow k trains on: a seeded half for pair ⌊k/2⌋, its complement for the odd one. */
export function shadowMembers(n: number, k: number, seed: number): number[] {
  const order = new Rng(seed * 1_000_003 + Math.floor(k / 2)).shuffle(Array.from({ length: n }, (_, i) => i));
  const half = Math.floor(n / 2);
  return (k % 2 === 0 ? order.slice(0, half) : order.slice(half)).sort((a, b) => a - b);
}

/** A scored item as a training row, the way the evaluation scores it (QA: question → answer; else text). */
function trainingRow(item: Record<string, unknown>, kind: EvalItemSet['kind']): DataRow {
  if (kind === 'qa') return { question: String(item.question), answer: String(item.answer) };
  if (kind === 'pair') return { text: String(item.prompt) + String(item.completion) };
  return { text: String(item.text) };
}

export interface ShadowRun {
  sets: { forget: EvalItemSet; holdout: EvalItemSet };
  seqs: { forget: readonly EncodedSeq[]; holdout: readonly EncodedSeq[] };
  format: PromptFormat;
  cacheDir: string | null;
  batchSize: number;
  log: (line: string) => void;
}

/** Trains (or finds in the cache) every shadow and returns its losses on the forget and holdout records. */
export async function shadowLosses(spec: ShadowSpec, run: ShadowRun): Promise<ShadowLosses> {
  const pool = [
    ...run.sets.forget.items.map((it) => trainingRow(it, run.sets.forget.kind)),
    ...run.sets.holdout.items.map((it) => trainingRow(it, run.sets.holdout.kind)),
  ];
  const nForget = run.sets.forget.items.length;
  const extra = spec.dataFile ? readRows(spec.dataFile, '--shadow-data').rows : [];
  const identity = {
    v: 1,
    base: modelCacheHash(spec.baseDir),
    pool: sha256(JSON.stringify(pool)),
    extra: spec.dataFile ? sha256File(spec.dataFile) : null,
    training: { epochs: spec.epochs, lr: spec.lr, batchSize: spec.batchSize },
    format: run.format,
    seed: spec.seed,
  };
  const scored = sha256(JSON.stringify([run.seqs.forget, run.seqs.holdout].map((ss) => ss.map((s) => [s.ids, s.promptLength, s.eos]))));
  const work = run.cacheDir ? null : mkdtempSync(join(tmpdir(), 'lethe-shadows-'));
  const perShadow: { loss: number[]; members: Set<number> }[] = [];
  try {
    for (let k = 0; k < spec.count; k++) {
      const members = shadowMembers(pool.length, k, spec.seed);
      const key = sha256(JSON.stringify({ ...identity, pair: Math.floor(k / 2), side: k % 2 })).slice(0, 24);
      const dir = join(run.cacheDir ?? work!, run.cacheDir ? 'shadows' : '', key);
      const lossFile = join(dir, `losses-${scored.slice(0, 24)}.json`);
      let loss: number[] | null = existsSync(lossFile) ? (JSON.parse(readFileSync(lossFile, 'utf8')) as { loss: number[] }).loss : null;
      if (!loss) {
        loss = await trainAndScore(spec, run, dir, k, [...members.map((i) => pool[i]!), ...extra]);
        writeFileAtomic(lossFile, JSON.stringify({ shadow: k, members, loss }));
      } else run.log(`[eval] shadow ${k + 1}/${spec.count}: cached (${dir})`);
      perShadow.push({ loss, members: new Set(members) });
    }
  } finally {
    if (work) rmSync(work, { recursive: true, force: true });
  }
  const side = (offset: number, n: number): ShadowSide => ({
    loss: Array.from({ length: n }, (_, r) => perShadow.map((s) => s.loss[offset + r]!)),
    member: Array.from({ length: n }, (_, r) => perShadow.map((s) => s.members.has(offset + r))),
  });
  return { count: spec.count, forget: side(0, nForget), holdout: side(nForget, pool.length - nForget) };
}

async function trainAndScore(spec: ShadowSpec, run: ShadowRun, dir: string, k: number, rows: DataRow[]): Promise<number[]> {
  if (finishedRun(dir)) return scoreModel(loadModel(dir), run);
  const t0 = Date.now();
  mkdirSync(dir, { recursive: true });
  const model = loadModel(spec.baseDir);
  try {
    const tok = loadTokenizer(spec.baseDir);
    const examples = await encodeRows(tok, rows, { format: run.format, maxLength: model.config.maxPositionEmbeddings });
    // An interrupted shadow resumes from its checkpoint; a finished one is its cached weights (above).
    await finetuneLoaded(model, examples, {
      outDir: dir,
      epochs: spec.epochs,
      lr: spec.lr,
      batchSize: spec.batchSize,
      seed: spec.seed * 1000 + k,
      padId: tok.padTokenId,
      resume: hasCheckpoint(dir),
      report: () => {},
    });
  } catch (err) {
    model.dispose();
    throw err;
  }
  run.log(`[eval] shadow ${k + 1}/${spec.count}: trained on ${rows.length} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return scoreModel(model, run);
}

/** A shadow's mean token NLL on every forget and holdout record (the model is disposed after). */
function scoreModel(model: CausalLM, run: ShadowRun): number[] {
  try {
    return sequenceStats(model, [...run.seqs.forget, ...run.seqs.holdout], { batchSize: run.batchSize }).map(avgLoss);
  } finally {
    model.dispose();
  }
}

/** Refuses a spec that cannot work before anything is computed: fewer than 4 shadows, a missing base,
 *  or a base with another tokenizer than the evaluated model (the shadows must score the same tokens). */
export function checkShadows(spec: ShadowSpec, modelDir?: string): void {
  if (!(Number.isInteger(spec.count) && spec.count >= 4))
    throw invalidArgument('eval', '--shadows', 'an integer of at least 4 (two IN and two OUT scores per record)', spec.count);
  if (!existsSync(join(spec.baseDir, 'config.json')))
    throw new LetheError('NOT_FOUND', `--shadow-base ${spec.baseDir} is not a model folder (no config.json)`);
  const a = modelDir ? join(modelDir, 'tokenizer.json') : null;
  const b = join(spec.baseDir, 'tokenizer.json');
  if (a && existsSync(a) && existsSync(b) && sha256File(a) !== sha256File(b))
    throw new LetheError(
      'BAD_INPUT',
      `--shadow-base ${spec.baseDir} has another tokenizer than --model ${modelDir}: the shadows must score the same tokens`,
    );
}
