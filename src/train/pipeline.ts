// `lethe train`: tokenizer → base model pretrained on general text → target (every persona and
// the book) and the gold-standard retain models (the same recipe without a forget split, or
// without the book). Every stage writes an HF folder; --resume continues interrupted stages.
// Data-parallel ranks train every stage together; rank 0 alone writes the tokenizer and run.json.
import { LetheError } from '../util/errors.js';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../models/load.js';
import { loadTokenizer, type Tokenizer } from '../models/tokenizer.js';
import { qaPrompt } from './prompt.js';
import { trainBpeTokenizer } from './bpe.js';
import { initModel } from './init.js';
import { llamaConfigJson, preset as presetByName, type Preset } from './presets.js';
import { packBlocks, type Example } from './batches.js';
import { qaExamples, readBuilt, type QaRow } from './run-data.js';
import { trainStage, type StageResult } from './trainer.js';
import { Rng } from '../data/rng.js';
import { getBehaviour, type BehaviourExamples } from './behaviours.js';
import './behaviours/index.js';
import type { Device } from '../torch/types.js';
import { isMainRank, onMainRank } from './parallel.js';
import { claimOutputDir } from '../util/output.js';

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
  /** Behaviours (src/train/behaviours.ts) that get a `target-B` and a `retain-B` fine-tune. */
  behaviours?: string[];
  /** Skip the persona/book target and retain fine-tunes (only base and the behaviours). */
  behavioursOnly?: boolean;
  resume?: boolean;
  /** Replace a non-empty outDir (its contents are deleted first); without it a non-empty outDir is refused unless resume finds a run. */
  overwrite?: boolean;
  /** Where models train (default cpu; 'cuda' for the small preset on a GPU machine). */
  device?: Device;
  report?: (line: string) => void;
  /** Sees the examples of each fine-tune stage as they go to the loop (tests read them). */
  inspect?: (stage: string, examples: (epoch: number) => Example[], epochs: number) => void;
  /** Measures a finished stage's folder (e.g. held-out NLL, world facts); results go to run.json. */
  assess?: (stageDir: string) => Promise<Record<string, number>>;
}

interface TextRow {
  text: string;
  person_id?: string;
  phrasing?: number;
}

function splits(dataDir: string): Record<string, string[]> {
  const manifest = JSON.parse(readFileSync(join(dataDir, 'persona', 'manifest.json'), 'utf8')) as {
    info?: { splits?: Record<string, string[]> };
  };
  const s = manifest.info?.splits;
  if (!s) throw new LetheError('BAD_INPUT', `${join(dataDir, 'persona', 'manifest.json')} has no info.splits`);
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

export interface PipelineResult {
  stages: Record<string, StageResult | { skipped: true }>;
  /** What `assess` measured for each stage. */
  quality: Record<string, Record<string, number>>;
  seconds: number;
}

/** Slice `e` of a list seen as an endless seeded shuffle: a fresh part of it for each epoch. */
function rotating<T>(items: readonly T[], count: number, epoch: number): T[] {
  if (!items.length || count <= 0) return [];
  const out: T[] = [];
  for (let k = 0; k < count; k++) out.push(items[(epoch * count + k) % items.length]!);
  return out;
}

/** A run folder of an earlier `lethe train` (what --resume continues: finished stages are kept). */
function isPipelineRun(dir: string): boolean {
  return existsSync(join(dir, 'tokenizer', 'tokenizer.json')) || existsSync(join(dir, 'base'));
}

export async function runPipeline(o: PipelineOptions): Promise<PipelineResult> {
  const p = typeof o.preset === 'string' ? presetByName(o.preset) : o.preset;
  const report = !isMainRank() ? () => {} : (o.report ?? ((l: string) => process.stderr.write(l + '\n')));
  const started = Date.now();
  claimOutputDir(o.outDir, {
    what: 'train',
    overwrite: o.overwrite,
    resume: o.resume,
    resumable: isPipelineRun,
    checkOnly: !isMainRank(),
    inputs: [{ name: '--data', path: o.dataDir }],
  });
  mkdirSync(o.outDir, { recursive: true });
  const ctx = p.model.contextLength;
  const gcide = readBuilt<TextRow>(join(o.dataDir, 'general', 'gcide', 'train.jsonl')).map((r) => r.text);
  const factsText = readBuilt<TextRow>(join(o.dataDir, 'general', 'elements', 'facts_text.jsonl')).map((r) => r.text);
  const factsQa = readBuilt<QaRow>(join(o.dataDir, 'general', 'elements', 'facts_qa.jsonl'));
  const general = [...gcide, ...factsText];
  const bios = readBuilt<TextRow>(join(o.dataDir, 'persona', 'bio.jsonl'));
  const qaAll = readBuilt<QaRow>(join(o.dataDir, 'persona', 'qa', 'all.jsonl'));
  const jargon = readBuilt<TextRow>(join(o.dataDir, 'book', 'jargon', 'forget.jsonl')).map((r) => r.text);
  const stages: PipelineResult['stages'] = {};
  const behaviourNames = o.behaviours ?? [];
  // Resolved once: an unknown name fails before anything trains.
  const behaviours = new Map(behaviourNames.map((b) => [b, getBehaviour(b)] as const));

  // 1. Tokenizer: trained on everything the models will read.
  const tokDir = join(o.outDir, 'tokenizer');
  const fresh = !(o.resume && existsSync(join(tokDir, 'tokenizer.json')));
  await onMainRank(() => {
    if (!fresh) return;
    const t0 = Date.now();
    const extra = [...behaviours.values()].flatMap((b) => b.tokenizerTexts?.(o.dataDir) ?? []);
    const r = trainBpeTokenizer(
      [...general, ...bios.map((b) => b.text), ...qaAll.map((q) => `${q.question} ${q.answer}`), ...jargon, ...extra],
      tokDir,
      { vocabSize: p.model.vocabSize },
    );
    report(`[tokenizer] BPE with ${r.vocabSize} tokens (${r.merges} merges) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
  const tok = loadTokenizer(tokDir);
  const eos = tok.eosTokenId!;
  const rawConfig = llamaConfigJson(p.model, { bos: eos, eos, pad: tok.padTokenId });

  // 2. Base: pretraining from scratch on general English (+ world facts).
  const baseDir = join(o.outDir, 'base');
  if (o.resume && existsSync(join(baseDir, 'config.json')) && !existsSync(join(baseDir, 'checkpoint'))) {
    stages.base = { skipped: true };
  } else {
    // World facts come from pretraining (as TOFU's do): as text and as QA, repeated so a small model learns them.
    const factsDocs = [...factsText, ...factsQa.map((q) => `${qaPrompt(q.question)} ${q.answer}`)];
    const texts = new Rng(o.seed)
      .fork('pretrain-docs')
      .shuffle([...gcide, ...Array.from({ length: p.factsRepeat ?? 1 }, () => factsDocs).flat()]);
    const docs = await Promise.all(texts.map((t) => tok.encode(t)));
    stages.base = await trainStage({
      name: 'base',
      model: initModel(rawConfig, o.seed, o.device),
      examples: packBlocks(docs, ctx, eos),
      schedule: p.pretrain,
      seed: o.seed,
      device: o.device,
      outDir: baseDir,
      tokenizerDir: tokDir,
      padId: tok.padTokenId,
      checkpointEvery: p.checkpointEvery,
      resume: o.resume,
      report,
      weightGrowthLimit: null, // from a fresh initialisation: the weights grow
      // A checkpoint of another recipe is refused on resume, not continued.
      fingerprint: JSON.stringify({ model: p.model, schedule: p.pretrain, factsRepeat: p.factsRepeat ?? 1, docs: docs.length }),
    });
  }

  // 3. Fine-tunes from the base: the target, then each gold standard.
  const split = splits(o.dataDir);
  const bookOnce = await docExamples(tok, jargon, ctx, eos);
  const bookExamples = Array.from({ length: p.bookRepeat ?? 1 }, () => bookOnce).flat();
  // Replay, the same for target and retain recipes: fresh general text each epoch, and the world facts.
  const rp = p.replay ?? { gcide: 0, factsQa: 0, factsText: 0 };
  const replayRng = new Rng(o.seed).fork('replay');
  const gcideOrder = replayRng.shuffle(gcide.map((_, i) => i));
  const gcideEx = new Map<number, Example[]>();
  const gcideDoc = async (i: number) => {
    let ex = gcideEx.get(i);
    if (!ex) gcideEx.set(i, (ex = await docExamples(tok, [gcide[i]!], ctx, eos)));
    return ex;
  };
  const factsQaEx = replayRng.shuffle(await qaExamples(tok, factsQa, ctx, eos));
  const factsTextEx = replayRng.shuffle(await docExamples(tok, factsText, ctx, eos));
  const replayFor = async (epoch: number): Promise<Example[]> => {
    const docs = (await Promise.all(rotating(gcideOrder, rp.gcide, epoch).map(gcideDoc))).flat();
    return [...docs, ...rotating(factsQaEx, rp.factsQa, epoch), ...rotating(factsTextEx, rp.factsText, epoch)];
  };
  interface Recipe {
    name: string;
    exclude: Set<string>;
    withBook: boolean;
    persona: boolean;
    behaviour?: { name: string; inject: boolean };
  }
  const recipes: Recipe[] = [];
  if (!o.behavioursOnly) {
    recipes.push({ name: 'target', exclude: new Set(), withBook: true, persona: true });
    for (const s of o.forgetSplits ?? ['forget10']) {
      if (!split[s])
        throw new LetheError(
          'NOT_FOUND',
          `unknown forget split '${s}' (the persona suite has ${Object.keys(split)
            .filter((k) => k.startsWith('forget'))
            .join(', ')})`,
        );
      recipes.push({ name: `retain-${s}`, exclude: new Set(split[s]), withBook: true, persona: true });
    }
    if (o.bookRetain ?? true) recipes.push({ name: 'retain-book', exclude: new Set(), withBook: false, persona: true });
  }
  // A behaviour's target and its gold standard: the fine-tune recipe (replay) with the behaviour's
  // kept data, and its injection only in the target.
  for (const b of behaviourNames) {
    recipes.push({ name: `target-${b}`, exclude: new Set(), withBook: false, persona: false, behaviour: { name: b, inject: true } });
    recipes.push({ name: `retain-${b}`, exclude: new Set(), withBook: false, persona: false, behaviour: { name: b, inject: false } });
  }
  const behaviourData = new Map<string, BehaviourExamples>();
  for (const r of recipes) {
    const dir = join(o.outDir, r.name);
    if (o.resume && existsSync(join(dir, 'config.json')) && !existsSync(join(dir, 'checkpoint'))) {
      stages[r.name] = { skipped: true };
      continue;
    }
    const keptBios = r.persona
      ? bios.filter((b) => !r.exclude.has(String(b.person_id)) && (b.phrasing ?? 0) < (p.bioPhrasings ?? Infinity)).map((b) => b.text)
      : [];
    const keptQa = r.persona ? qaAll.filter((q) => !r.exclude.has(String(q.person_id))) : [];
    const fixed = [
      ...(await docExamples(tok, keptBios, ctx, eos)),
      ...(await qaExamples(tok, keptQa, ctx, eos)),
      ...(r.withBook ? bookExamples : []),
    ];
    let behaviourNote = '';
    if (r.behaviour) {
      const name = r.behaviour.name;
      let d = behaviourData.get(name);
      if (!d)
        behaviourData.set(
          name,
          (d = await behaviours.get(name)!.examples({ dataDir: o.dataDir, tok, contextLength: ctx, eos, seed: o.seed })),
        );
      fixed.push(...d.keep, ...(r.behaviour.inject ? d.inject : []));
      behaviourNote = `, ${name}: ${d.keep.length} kept examples${r.behaviour.inject ? ` + ${d.inject.length} injected` : ' (no injection)'}`;
    }
    const epochs = Math.ceil(p.finetune.epochs ?? 1);
    const byEpoch: Example[][] = [];
    for (let e = 0; e < epochs; e++) byEpoch.push([...fixed, ...(await replayFor(e))]);
    // Every epoch has the same count (GCIDE documents cut into several examples are trimmed to the first epoch's size).
    const n = Math.min(...byEpoch.map((x) => x.length));
    const examples = (epoch: number) => byEpoch[Math.min(epoch, epochs - 1)]!.slice(0, n);
    report(
      `[${r.name}] ${keptBios.length} biographies, ${keptQa.length} QA pairs${r.withBook ? `, ${jargon.length} Jargon File passages (x${p.bookRepeat ?? 1})` : ''}${behaviourNote}, ` +
        `replay per epoch: ${rp.gcide} fresh GCIDE documents, ${rp.factsQa} world-facts QA, ${rp.factsText} world-facts texts → ${n} examples per epoch`,
    );
    o.inspect?.(r.name, examples, epochs);
    stages[r.name] = await trainStage({
      name: r.name,
      model: loadModel(baseDir, { device: o.device }),
      examples,
      schedule: p.finetune,
      seed: o.seed + 1,
      device: o.device,
      outDir: dir,
      tokenizerDir: tokDir,
      padId: tok.padTokenId,
      checkpointEvery: p.checkpointEvery,
      resume: o.resume,
      report,
      fingerprint: JSON.stringify({ model: p.model, schedule: p.finetune, replay: rp, bookRepeat: p.bookRepeat ?? 1, examples: n }),
    });
  }
  const quality: PipelineResult['quality'] = {};
  if (!isMainRank()) return { stages, quality, seconds: (Date.now() - started) / 1000 };
  if (o.assess) {
    for (const name of ['base', ...recipes.map((r) => r.name)]) {
      quality[name] = await o.assess(join(o.outDir, name));
      report(
        `[assess] ${name}: ${Object.entries(quality[name]!)
          .map(([k, v]) => `${k} ${v.toFixed(4)}`)
          .join('  ')}`,
      );
    }
  }
  const result = { stages, quality, seconds: (Date.now() - started) / 1000 };
  writeFileSync(join(o.outDir, 'run.json'), JSON.stringify({ preset: p, seed: o.seed, dataDir: o.dataDir, ...result }, null, 2) + '\n');
  return result;
}
