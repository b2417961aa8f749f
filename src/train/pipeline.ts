// `lethe train`: tokenizer → base model pretrained on general text → target (every persona and
// the book) and the gold-standard retain models (the same recipe without a forget split, or
// without the book). Every stage writes an HF folder; --resume continues interrupted stages.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../models/load.js';
import { loadTokenizer, type Tokenizer } from '../models/tokenizer.js';
import { IGNORE_INDEX } from '../models/loss.js';
import { encodeQa } from './prompt.js';
import { trainBpeTokenizer } from './bpe.js';
import { initModel } from './init.js';
import { llamaConfigJson, preset as presetByName, type Preset } from './presets.js';
import { packBlocks, type Example } from './batches.js';
import { trainStage, type StageResult } from './trainer.js';
import { Rng } from '../data/rng.js';
import type { Device } from '../torch/types.js';

export interface PipelineOptions {
  /** Folder holding persona/, book/ and general/ as `lethe data build` writes them. */
  dataDir: string;
  outDir: string;
  preset: string | Preset;
  seed: number;
  /** Persona forget splits that get a retain model (default: forget10). */
  forgetSplits?: string[];
  /** Also train the book's retain model (all personas, no Jargon File). Default true. */
  bookRetain?: boolean;
  resume?: boolean;
  /** Where models train (default cpu; 'cuda' for the small preset on a GPU machine). */
  device?: Device;
  report?: (line: string) => void;
}

interface QaRow { question: string; answer: string; person_id?: string }
interface TextRow { text: string; person_id?: string; phrasing?: number }

export function readJsonl<T>(path: string): T[] {
  if (!existsSync(path)) throw new Error(`missing data file ${path} (build it with 'lethe data build')`);
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l, i) => {
    try {
      return JSON.parse(l) as T;
    } catch (err) {
      throw new Error(`${path}:${i + 1}: not JSON (${(err as Error).message})`);
    }
  });
}

function splits(dataDir: string): Record<string, string[]> {
  const manifest = JSON.parse(readFileSync(join(dataDir, 'persona', 'manifest.json'), 'utf8')) as { info?: { splits?: Record<string, string[]> } };
  const s = manifest.info?.splits;
  if (!s) throw new Error(`${join(dataDir, 'persona', 'manifest.json')} has no info.splits`);
  return s;
}

/** Documents cut into examples of at most `length` tokens, each ending with EOS. */
async function docExamples(tok: Tokenizer, texts: string[], length: number, eos: number): Promise<Example[]> {
  const out: Example[] = [];
  for (const t of texts) {
    const ids = [...(await tok.encode(t)), eos];
    for (let i = 0; i < ids.length; i += length) {
      const chunk = ids.slice(i, i + length);
      if (chunk.length > 8) out.push({ ids: chunk });
    }
  }
  return out;
}

/** QA as "Question: …\nAnswer: …<eos>", loss on the answer only (as TOFU fine-tunes). */
async function qaExamples(tok: Tokenizer, rows: QaRow[], length: number, eos: number): Promise<Example[]> {
  const out: Example[] = [];
  for (const r of rows) {
    const qa = await encodeQa(tok, r.question, r.answer);
    const ids = [...qa.ids, eos].slice(0, length);
    out.push({ ids, labels: ids.map((t, k) => (k < qa.promptLength ? IGNORE_INDEX : t)) });
  }
  return out;
}

export interface PipelineResult {
  stages: Record<string, StageResult | { skipped: true }>;
  seconds: number;
}

export async function runPipeline(o: PipelineOptions): Promise<PipelineResult> {
  const p = typeof o.preset === 'string' ? presetByName(o.preset) : o.preset;
  const report = o.report ?? ((l: string) => process.stderr.write(l + '\n'));
  const started = Date.now();
  mkdirSync(o.outDir, { recursive: true });
  const ctx = p.model.contextLength;
  const gcide = readJsonl<TextRow>(join(o.dataDir, 'general', 'gcide', 'train.jsonl')).map((r) => r.text);
  const general = [...gcide, ...readJsonl<TextRow>(join(o.dataDir, 'general', 'elements', 'facts_text.jsonl')).map((r) => r.text)];
  const bios = readJsonl<TextRow>(join(o.dataDir, 'persona', 'bio.jsonl'));
  const qaAll = readJsonl<QaRow>(join(o.dataDir, 'persona', 'qa', 'all.jsonl'));
  const jargon = readJsonl<TextRow>(join(o.dataDir, 'book', 'jargon', 'forget.jsonl')).map((r) => r.text);
  const stages: PipelineResult['stages'] = {};

  // 1. Tokenizer: trained on everything the models will read.
  const tokDir = join(o.outDir, 'tokenizer');
  if (!(o.resume && existsSync(join(tokDir, 'tokenizer.json')))) {
    const t0 = Date.now();
    const r = trainBpeTokenizer([...general, ...bios.map((b) => b.text), ...qaAll.map((q) => `${q.question} ${q.answer}`), ...jargon], tokDir, { vocabSize: p.model.vocabSize });
    report(`[tokenizer] BPE with ${r.vocabSize} tokens (${r.merges} merges) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const tok = loadTokenizer(tokDir);
  const eos = tok.eosTokenId!;
  const rawConfig = llamaConfigJson(p.model, { bos: eos, eos, pad: tok.padTokenId });

  // 2. Base: pretraining from scratch on general English (+ world facts).
  const baseDir = join(o.outDir, 'base');
  if (o.resume && existsSync(join(baseDir, 'config.json')) && !existsSync(join(baseDir, 'checkpoint'))) {
    stages.base = { skipped: true };
  } else {
    const docs = await Promise.all(general.map((t) => tok.encode(t)));
    stages.base = await trainStage({
      name: 'base', model: initModel(rawConfig, o.seed, o.device), examples: packBlocks(docs, ctx, eos), schedule: p.pretrain, seed: o.seed, device: o.device,
      outDir: baseDir, tokenizerDir: tokDir, padId: tok.padTokenId, checkpointEvery: p.checkpointEvery, resume: o.resume, report,
    });
  }

  // 3. Fine-tunes from the base: the target, then each gold standard.
  const split = splits(o.dataDir);
  const bookOnce = await docExamples(tok, jargon, ctx, eos);
  const bookExamples = Array.from({ length: p.bookRepeat ?? 1 }, () => bookOnce).flat();
  const replay = await docExamples(tok, new Rng(o.seed).fork('replay').sample(gcide, Math.min(p.replayDocs ?? 0, gcide.length)), ctx, eos);
  const recipes: { name: string; exclude: Set<string>; withBook: boolean }[] = [{ name: 'target', exclude: new Set(), withBook: true }];
  for (const s of o.forgetSplits ?? ['forget10']) {
    if (!split[s]) throw new Error(`unknown forget split '${s}' (the persona suite has ${Object.keys(split).filter((k) => k.startsWith('forget')).join(', ')})`);
    recipes.push({ name: `retain-${s}`, exclude: new Set(split[s]), withBook: true });
  }
  if (o.bookRetain ?? true) recipes.push({ name: 'retain-book', exclude: new Set(), withBook: false });
  for (const r of recipes) {
    const dir = join(o.outDir, r.name);
    if (o.resume && existsSync(join(dir, 'config.json')) && !existsSync(join(dir, 'checkpoint'))) {
      stages[r.name] = { skipped: true };
      continue;
    }
    const keptBios = bios.filter((b) => !r.exclude.has(String(b.person_id)) && (b.phrasing ?? 0) < (p.bioPhrasings ?? Infinity)).map((b) => b.text);
    const keptQa = qaAll.filter((q) => !r.exclude.has(String(q.person_id)));
    const examples = [...(await docExamples(tok, keptBios, ctx, eos)), ...(await qaExamples(tok, keptQa, ctx, eos)), ...(r.withBook ? bookExamples : []), ...replay];
    report(`[${r.name}] ${keptBios.length} biographies, ${keptQa.length} QA pairs${r.withBook ? `, ${jargon.length} Jargon File passages (x${p.bookRepeat ?? 1})` : ''}, ${replay.length} general-text replay examples → ${examples.length} examples`);
    stages[r.name] = await trainStage({
      name: r.name, model: loadModel(baseDir, { device: o.device }), examples, schedule: p.finetune, seed: o.seed + 1, device: o.device,
      outDir: dir, tokenizerDir: tokDir, padId: tok.padTokenId, checkpointEvery: p.checkpointEvery, resume: o.resume, report,
    });
  }
  const result = { stages, seconds: (Date.now() - started) / 1000 };
  writeFileSync(join(o.outDir, 'run.json'), JSON.stringify({ preset: p, seed: o.seed, dataDir: o.dataDir, ...result }, null, 2) + '\n');
  return result;
}
