// evaluate(): runs the registered metrics on one model and writes EVAL.json and SUMMARY.json.
//
// Needs are computed once per (model, item set) and shared through a memo (the `ctx.get` of every
// metric): one batched forward over the true, paraphrased and perturbed answers of a QA set serves the
// probabilities, truth ratios, membership attacks, exact memorization and extraction strength.
// Per-metric results are cached on disk by content: sha256 of the model's config and weight files,
// the metric's parameters and the content of the item sets it reads (plus prompt format and code
// version), so a retain model is evaluated once however many unlearned models are compared with it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { CausalLM } from '../models/model.js';
import { loadModel, adapterBase } from '../models/load.js';
import { loadTokenizer, type Tokenizer } from '../models/tokenizer.js';
import { checkTemplate, type PromptFormat } from '../train/prompt.js';
import { claimOutputDir } from '../util/output.js';
import {
  getMetric, listMetrics, needKey, type EvalItemSet, type ItemStats, type MetricContext, type MetricDefinition, type MetricResult, type Need,
} from './metrics/index.js';
import { encodeQaPair, encodeText, sequenceStats, greedyAnswers, sampledAnswers, greedyContinuations, gradientNorms, type EncodedSeq } from './providers.js';
import { avgLoss, type SeqStat } from './scores.js';
import { loadSets, type SuiteOptions } from './suites.js';
import { cloneModel, quantizeModel, type QuantizeMode } from './quantize.js';
import { scoreItems } from './mc/score.js';
import { loadMcTasks } from './mc/tasks.js';
import type { McItem } from './mc/formats.js';

/** Bumped when a change alters cached results. */
export const EVAL_CACHE_VERSION = 2;

/** EVAL.json: one entry per metric, as open-unlearning writes it, plus `_meta` (see writeResults). */
export interface EvalEntry {
  agg_value: number | null;
  value_by_index?: Record<string, Record<string, unknown>>;
  reason?: string;
  [extra: string]: unknown;
}
export type EvalJson = Record<string, EvalEntry | EvalMeta>;

export interface EvalMeta {
  lethe_eval_version: number;
  model: string;
  suite: string;
  sets: Record<string, { kind: string; items: number; description: string }>;
  prompt_format: PromptFormat;
  retain_model: string | null;
  target_model: string | null;
  reference_model: string | null;
  variants: string[];
  metrics: Record<string, { description: string; group: string; higher_is_better: boolean | null; variant_of?: string }>;
  /** The retain / target model's results that derived metrics read (forget_truth_ratio, mia_min_k, model_utility...), for reports. */
  retain_results?: Record<string, EvalEntry>;
  target_results?: Record<string, EvalEntry>;
  seconds: number;
  created: string;
}

export interface EvaluateOptions {
  /** An in-memory model (not disposed) or a folder to load. */
  model?: CausalLM;
  modelDir?: string;
  tokenizer?: Tokenizer;
  /** persona[:forgetNN] | book | general, read from dataDir; or files; or sets made by the caller. */
  suite?: string;
  dataDir?: string;
  files?: { forget: string; retain?: string; holdout?: string };
  sets?: EvalItemSet[];
  suiteOptions?: SuiteOptions;
  /** The retain (gold-standard) model, or its EVAL.json results. */
  retainModelDir?: string;
  retainResults?: EvalJson;
  /** The target model before unlearning, or its EVAL.json results. */
  targetModelDir?: string;
  targetResults?: EvalJson;
  /** The reference model for mia_reference and generation fluency (default: the retain model). */
  referenceModelDir?: string;
  /** Metric names (default: every registered metric that applies to the item sets). */
  metrics?: string[];
  promptFormat?: PromptFormat;
  /** Also evaluate quantized copies (forget metrics, keys prefixed `int8_` / `int4_`). */
  quantize?: QuantizeMode[];
  /**
   * Relearning attack hook: given a copy of the model, return it fine-tuned on a little forget-set
   * data (the training loop lives elsewhere); its forget metrics are reported with the prefix `relearn_`.
   */
  relearn?: (model: CausalLM) => Promise<CausalLM>;
  /** Where EVAL.json and SUMMARY.json go (nothing written without it). */
  outDir?: string;
  /** Replace a non-empty outDir (its contents are deleted first); without it a non-empty outDir is refused. */
  overwrite?: boolean;
  /** Result cache (default $LETHE_CACHE, else <outDir>/../.lethe-cache); null disables it. */
  cacheDir?: string | null;
  batchSize?: number;
  log?: (line: string) => void;
  /** Display name of the model in EVAL.json (default: the folder). */
  name?: string;
  /** Multiple-choice tasks (src/eval/mc/): `arc:FILE`, `world_facts`, … → metrics mc_<task>_acc / _acc_norm. */
  tasks?: string | string[];
  /** Few-shot examples per multiple-choice item (default 0). */
  numFewshot?: number;
}

export interface EvaluateResult {
  eval: EvalJson;
  summary: Record<string, number | null>;
  results: Map<string, MetricResult>;
  seconds: number;
}

// ---------------------------------------------------------------------------------------------
// Hashing and the result cache

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

const modelHashes = new Map<string, string>();

/** sha256 over config.json and every weight file of a model folder (memoised per path + mtime). */
export function modelContentHash(dir: string): string {
  // A LoRA adapter folder: its own files and its base model's.
  if (!existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'adapter_config.json'))) {
    const own = ['adapter_config.json', 'adapter_model.safetensors'].filter((f) => existsSync(join(dir, f))).map((f) => sha256(readFileSync(join(dir, f))));
    return sha256(`lora|${own.join('|')}|${modelContentHash(adapterBase(dir))}`);
  }
  // A SISA ensemble: its manifest and every constituent's weights.
  if (!existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'sisa.json'))) {
    const manifest = readFileSync(join(dir, 'sisa.json'), 'utf8');
    const members = (JSON.parse(manifest) as { constituents?: string[] }).constituents ?? [];
    return sha256(`sisa|${manifest}|${members.map((m) => modelContentHash(join(dir, m))).join('|')}`);
  }
  const files = readdirSync(dir).filter((f) => f === 'config.json' || f.endsWith('.safetensors') || f === 'model.safetensors.index.json').sort();
  if (!files.includes('config.json')) throw new Error(`${dir} has no config.json (not a model folder)`);
  const stamp = files.map((f) => `${f}:${statSync(join(dir, f)).size}:${statSync(join(dir, f)).mtimeMs}`).join('|');
  const key = `${resolve(dir)}|${stamp}`;
  const hit = modelHashes.get(key);
  if (hit) return hit;
  const h = createHash('sha256');
  for (const f of files) {
    h.update(f);
    h.update(readFileSync(join(dir, f)));
  }
  const out = h.digest('hex');
  modelHashes.set(key, out);
  return out;
}

function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** JSON with non-finite numbers written as null (JSON has no NaN or Infinity). */
function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? null : x), 1);
}

// ---------------------------------------------------------------------------------------------
// One model's evaluation: needs memoised, metrics memoised, results cached

interface ModelSlot {
  dir: string | null;
  model: CausalLM | null;
  tok: Tokenizer | null;
  owned: boolean;
}

class Evaluation {
  private readonly needs = new Map<string, Promise<unknown>>();
  private readonly metrics = new Map<string, Promise<MetricResult>>();
  private readonly encoded = new Map<string, Promise<{ true: EncodedSeq[]; para: (EncodedSeq | null)[]; pert: EncodedSeq[][]; texts: string[] }>>();
  readonly setsByName: Map<string, EvalItemSet>;

  constructor(
    readonly label: string,
    readonly model: CausalLM,
    readonly tok: Tokenizer,
    /** Content hash of the model (null: not cached). */
    readonly hash: string | null,
    sets: EvalItemSet[],
    readonly format: PromptFormat,
    readonly shared: {
      cacheDir: string | null;
      log: (l: string) => void;
      batchSize: number;
      reference: () => ModelSlot | null;
      other: (who: 'retain' | 'target', name: string) => Promise<MetricResult>;
      hasOther: (who: 'retain' | 'target') => boolean;
    },
  ) {
    this.setsByName = new Map(sets.map((s) => [s.name, s]));
  }

  set(name: string): EvalItemSet {
    const s = this.setsByName.get(name);
    if (!s) throw new Error(`item set '${name}' is not part of this evaluation (have ${[...this.setsByName.keys()].join(', ')})`);
    return s;
  }

  /** Why a metric cannot run here ('skip': its item sets are not in this suite), or null. */
  unavailable(m: MetricDefinition, seen = new Set<string>()): { skip: boolean; reason: string } | null {
    if (seen.has(m.name)) return null;
    seen.add(m.name);
    const partial = m.name === 'model_utility';
    let anyOk = false;
    let firstProblem: { skip: boolean; reason: string } | null = null;
    for (const n of m.needs) {
      let problem: { skip: boolean; reason: string } | null = null;
      if ('set' in n) {
        const s = this.setsByName.get(n.set);
        if (!s) problem = { skip: true, reason: `needs the item set '${n.set}', which this suite does not have` };
        else if (n.setKind && !n.setKind.includes(s.kind)) problem = { skip: true, reason: `needs '${n.set}' as ${n.setKind.join(' or ')} items, but it holds ${s.kind} items` };
        else if ((n.kind === 'reference' || n.kind === 'referenceNll') && !this.shared.reference()) problem = { skip: false, reason: 'needs a reference model (--reference-model, or --retain-model which is used by default)' };
      } else if (n.kind === 'metric') {
        problem = this.unavailable(getMetric(n.name), seen);
      } else if (!this.shared.hasOther(n.kind)) {
        problem = { skip: false, reason: `needs the ${n.kind} model's results (--${n.kind}-model DIR)` };
      } else {
        const inner = this.unavailable(getMetric(n.name), seen);
        if (inner) problem = inner;
      }
      if (problem) firstProblem ??= problem;
      else anyOk = true;
    }
    if (partial) return anyOk || !m.needs.length ? null : firstProblem;
    return firstProblem;
  }

  // ---- needs ----

  private async encodeSet(name: string) {
    let p = this.encoded.get(name);
    if (!p) {
      p = (async () => {
        const s = this.set(name);
        const maxLength = this.model.config.maxPositionEmbeddings;
        const o = { format: this.format, maxLength };
        const out = { true: [] as EncodedSeq[], para: [] as (EncodedSeq | null)[], pert: [] as EncodedSeq[][], texts: [] as string[] };
        for (const it of s.items) {
          if (s.kind === 'qa') {
            const q = String(it.question);
            out.true.push(await encodeQaPair(this.tok, q, String(it.answer), o));
            out.para.push(typeof it.paraphrased_answer === 'string' ? await encodeQaPair(this.tok, q, it.paraphrased_answer, o) : null);
            out.pert.push(Array.isArray(it.perturbed_answer) ? await Promise.all(it.perturbed_answer.map((a) => encodeQaPair(this.tok, q, String(a), o))) : []);
            out.texts.push(String(it.answer));
          } else if (s.kind === 'pair') {
            const prompt = String(it.prompt);
            const ids = await this.tok.encode(prompt + String(it.completion));
            const promptLength = (await this.tok.encode(prompt)).length;
            out.true.push({ ids: ids.slice(0, maxLength), promptLength: Math.min(promptLength, maxLength - 1), eos: false });
            out.para.push(null);
            out.pert.push([]);
            out.texts.push(String(it.completion));
          } else if (s.kind === 'text') {
            out.true.push(await encodeText(this.tok, String(it.text), maxLength, name === 'gcide' ? 160 : Infinity));
            out.para.push(null);
            out.pert.push([]);
            out.texts.push(String(it.text));
          } else {
            throw new Error(`item set '${name}' holds ${s.kind} items, which have no scored sequence`);
          }
        }
        return out;
      })();
      this.encoded.set(name, p);
    }
    return p;
  }

  /** New tokens a QA set's answers get: the longest true answer + 8, at most 64. */
  private async answerBudget(items: Record<string, unknown>[]): Promise<number> {
    const lens = await Promise.all(items.map(async (it) => (await this.tok.encode(String(it.answer))).length));
    return Math.min(64, Math.max(...lens) + 8);
  }

  private timed<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
    const t0 = Date.now();
    return Promise.resolve(fn()).then((v) => {
      this.shared.log(`[eval ${this.label}] ${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      return v;
    });
  }

  /**
   * Statistics of a set's true answers, in batches of these sequences only: a model scored against
   * itself as the reference model gets bit-identical numbers (the same batch shapes, so the same
   * BLAS kernels and summation order), whatever the CPU's kernels (mia_reference's AUC is then 0.5).
   */
  private trueAnswerStats(model: CausalLM, set: string, seqs: readonly EncodedSeq[]): SeqStat[] {
    return sequenceStats(model, seqs, { vocabStats: set === 'forget' || set === 'holdout', batchSize: this.shared.batchSize });
  }

  private async computeNeed(n: Need): Promise<unknown> {
    switch (n.kind) {
      case 'stats': {
        const enc = await this.encodeSet(n.set);
        const others: EncodedSeq[] = [...enc.para.filter((x): x is EncodedSeq => x !== null), ...enc.pert.flat()];
        const vocabStats = n.set === 'forget' || n.set === 'holdout';
        const [truth, stats] = await this.timed(`token statistics of ${n.set}: ${enc.true.length} items, ${enc.true.length + others.length} sequences`, () =>
          [this.trueAnswerStats(this.model, n.set, enc.true), sequenceStats(this.model, others, { vocabStats, batchSize: this.shared.batchSize })] as const);
        let at = 0;
        const out: ItemStats[] = enc.true.map((_, k) => ({ true: truth[k]!, text: enc.texts[k]! }));
        enc.para.forEach((p, k) => {
          if (p) out[k]!.para = stats[at++]!;
        });
        enc.pert.forEach((ps, k) => {
          if (ps.length) out[k]!.pert = ps.map(() => stats[at++]!);
        });
        return out;
      }
      case 'generations': {
        const s = this.set(n.set);
        if (s.kind === 'qa') {
          const maxNew = await this.answerBudget(s.items);
          return this.timed(`greedy answers on ${n.set}: ${s.items.length} questions, up to ${maxNew} tokens`, () =>
            greedyAnswers(this.model, this.tok, s.items.map((it) => String(it.question)), { format: this.format, maxNewTokens: maxNew, batchSize: this.shared.batchSize }));
        }
        if (s.kind === 'probe') {
          const maxNew = n.set === 'familiarity_completion' ? 32 : 48;
          return this.timed(`greedy continuations on ${n.set}: ${s.items.length} prompts, ${maxNew} tokens`, () =>
            greedyContinuations(this.model, this.tok, s.items.map((it) => String(it.prompt)), { maxNewTokens: maxNew, batchSize: this.shared.batchSize }));
        }
        throw new Error(`generations need QA or probe items; '${n.set}' holds ${s.kind} items`);
      }
      case 'samples': {
        const s = this.set(n.set);
        if (s.kind !== 'qa') throw new Error(`sampled answers need QA items; '${n.set}' holds ${s.kind} items`);
        const maxNew = await this.answerBudget(s.items);
        const out: string[][] = [];
        for (const seed of n.seeds) {
          out.push(await this.timed(`sampled answers on ${n.set} (temperature ${n.temperature}, seed ${seed}): ${s.items.length} questions, up to ${maxNew} tokens`, () =>
            sampledAnswers(this.model, this.tok, s.items.map((it) => String(it.question)), { format: this.format, maxNewTokens: maxNew, temperature: n.temperature, seed, batchSize: this.shared.batchSize })));
        }
        return out;
      }
      case 'gradNorm': {
        const enc = await this.encodeSet(n.set);
        return this.timed(`gradient norms on ${n.set}: ${enc.true.length} items`, () => gradientNorms(this.model, enc.true, 2));
      }
      case 'reference': {
        const ref = this.shared.reference();
        if (!ref) throw new Error('no reference model');
        const enc = await this.encodeSet(n.set);
        const refModel = ensureLoaded(ref);
        return this.timed(`reference-model statistics of ${n.set}`, () => this.trueAnswerStats(refModel, n.set, enc.true));
      }
      case 'referenceNll': {
        const ref = this.shared.reference();
        if (!ref) throw new Error('no reference model');
        const gens = (await this.get({ kind: 'generations', set: n.set })) as string[];
        const refModel = ensureLoaded(ref);
        const refTok = ref.tok ?? this.tok;
        const seqs: (EncodedSeq | null)[] = await Promise.all(gens.map(async (g) => {
          if (!g.trim()) return null;
          const e = await encodeText(refTok, g, refModel.config.maxPositionEmbeddings);
          return e.ids.length >= 2 ? e : null;
        }));
        const ok = seqs.filter((x): x is EncodedSeq => x !== null);
        const st = await this.timed(`reference-model NLL of ${ok.length} generations on ${n.set}`, () => sequenceStats(refModel, ok, { batchSize: this.shared.batchSize }));
        let at = 0;
        return seqs.map((s) => (s ? avgLoss(st[at++]!) : null));
      }
      case 'mc': {
        const s = this.set(n.set);
        return this.timed(`multiple-choice log-likelihoods on ${n.set}: ${s.items.length} items`, () => scoreItems(this.model, this.tok, s.items as unknown as McItem[]));
      }
      case 'metric':
        return this.metric(n.name);
      case 'retain':
      case 'target':
        return this.shared.other(n.kind, n.name);
    }
  }

  get(n: Need): Promise<unknown> {
    const key = needKey(n);
    let p = this.needs.get(key);
    if (!p) {
      p = this.computeNeed(n);
      this.needs.set(key, p);
    }
    return p;
  }

  // ---- metrics ----

  private cacheKey(m: MetricDefinition): string | null {
    if (!this.hash || !this.shared.cacheDir) return null;
    if (m.needs.some((n) => !('set' in n) || n.kind === 'reference' || n.kind === 'referenceNll')) return null; // derived from other results: cheap, not cached
    const sets = m.needs.map((n) => ('set' in n ? n.set : '')).filter(Boolean).sort();
    const content = sets.map((s) => sha256(JSON.stringify(this.set(s).items)));
    return sha256(JSON.stringify({ v: EVAL_CACHE_VERSION, metric: m.name, params: m.params ?? null, sets, content, format: this.format, eos: this.tok.eosTokenId }));
  }

  metric(name: string): Promise<MetricResult> {
    let p = this.metrics.get(name);
    if (!p) {
      p = this.runMetric(getMetric(name));
      this.metrics.set(name, p);
    }
    return p;
  }

  private async runMetric(m: MetricDefinition): Promise<MetricResult> {
    const missing = this.unavailable(m);
    if (missing) return { aggValue: null, reason: missing.reason };
    const key = this.cacheKey(m);
    const file = key ? join(this.shared.cacheDir!, this.hash!.slice(0, 24), `${m.name}-${key.slice(0, 24)}.json`) : null;
    if (file && existsSync(file)) {
      try {
        return JSON.parse(readFileSync(file, 'utf8')) as MetricResult;
      } catch {
        // a damaged cache entry is recomputed
      }
    }
    const declared = new Set(m.needs.map(needKey));
    const ctx: MetricContext = {
      get: <T>(n: Need) => {
        if (!declared.has(needKey(n))) throw new Error(`metric '${m.name}' asked for '${needKey(n)}', which it does not declare in needs`);
        return this.get(n) as Promise<T>;
      },
      set: (s) => this.set(s),
    };
    const r = await m.compute(ctx);
    if (file) writeAtomic(file, toJson(r));
    return r;
  }
}

function ensureLoaded(slot: ModelSlot): CausalLM {
  if (!slot.model) {
    slot.model = loadModel(slot.dir!);
    slot.owned = true;
  }
  return slot.model;
}

function tokenizerFor(dir: string, fallback: Tokenizer): Tokenizer {
  return existsSync(join(dir, 'tokenizer.json')) ? loadTokenizer(dir) : fallback;
}

/** Reads a metric's result from an EVAL.json object. */
function fromEvalJson(json: EvalJson, name: string, who: string): MetricResult {
  const e = json[name] as EvalEntry | undefined;
  if (!e || typeof e !== 'object' || !('agg_value' in e)) return { aggValue: null, reason: `the ${who} results have no '${name}'` };
  const { agg_value, value_by_index, reason, ...extra } = e;
  return { aggValue: agg_value, valueByIndex: value_by_index, reason, extra };
}

function toEntry(r: MetricResult): EvalEntry {
  const e: EvalEntry = { agg_value: r.aggValue === null || Number.isFinite(r.aggValue) ? r.aggValue : null };
  if (r.valueByIndex) e.value_by_index = r.valueByIndex;
  if (r.reason) e.reason = r.reason;
  if (r.extra) for (const [k, v] of Object.entries(r.extra)) if (!(k in e)) e[k] = v;
  return e;
}

/** Evaluates one model; writes EVAL.json and SUMMARY.json to outDir when given. */
export async function evaluate(o: EvaluateOptions): Promise<EvaluateResult> {
  const t0 = Date.now();
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (!o.model && !o.modelDir) throw new Error('evaluate: give model or modelDir');
  if (o.promptFormat?.template && !o.promptFormat.chat) checkTemplate(o.promptFormat.template);
  const format = o.promptFormat ?? {};

  const tasksOnly = !!o.tasks?.length && !o.sets && !o.suite && !o.files;
  const { name: suiteName, sets: baseSets } = o.sets ? { name: o.suite ?? 'custom', sets: o.sets } : tasksOnly ? { name: 'tasks', sets: [] } : loadSets({ suite: o.suite, dataDir: o.dataDir, files: o.files }, o.suiteOptions);
  const sets: EvalItemSet[] = o.tasks?.length ? [...baseSets, ...loadMcTasks(o.tasks, { dataDir: o.dataDir, numFewshot: o.numFewshot })] : baseSets;
  for (const s of sets) if (!s.items.length) throw new Error(`item set '${s.name}' is empty (${s.description})`);
  if (o.outDir) {
    const read = [['--model', o.modelDir], ['--retain-model', o.retainModelDir], ['--target-model', o.targetModelDir], ['--reference-model', o.referenceModelDir], ['--data', o.dataDir],
      ...Object.entries(o.files ?? {}).map(([k, f]) => [`--${k}`, f])] as const;
    claimOutputDir(o.outDir, { what: 'eval', overwrite: o.overwrite, inputs: read.filter(([, p]) => !!p).map(([name, path]) => ({ name, path: path! })) });
  }

  const owned: CausalLM[] = [];
  const model = o.model ?? loadModel(o.modelDir!);
  if (!o.model) owned.push(model);
  const tok = o.tokenizer ?? (o.modelDir ? loadTokenizer(o.modelDir) : (() => { throw new Error('evaluate: an in-memory model needs a tokenizer'); })());
  const cacheDir = o.cacheDir === null ? null : o.cacheDir ?? process.env.LETHE_CACHE ?? (o.outDir ? join(resolve(o.outDir), '..', '.lethe-cache') : null);
  const batchSize = o.batchSize ?? 32;

  const refDir = o.referenceModelDir ?? o.retainModelDir ?? null;
  const refSlot: ModelSlot | null = refDir ? { dir: refDir, model: null, tok: null, owned: false } : null;
  if (refSlot) refSlot.tok = tokenizerFor(refDir!, tok);

  const others = new Map<'retain' | 'target', Evaluation | EvalJson>();
  const otherSlots: ModelSlot[] = [];
  const otherRead = { retain: new Map<string, MetricResult>(), target: new Map<string, MetricResult>() };
  const shared = {
    cacheDir, log, batchSize,
    reference: () => refSlot,
    hasOther: (who: 'retain' | 'target') => others.has(who),
    other: async (who: 'retain' | 'target', name: string): Promise<MetricResult> => {
      const ev = others.get(who);
      if (!ev) return { aggValue: null, reason: `no ${who} model` };
      const r = ev instanceof Evaluation ? await ev.metric(name) : fromEvalJson(ev, name, who);
      otherRead[who].set(name, r);
      return r;
    },
  };
  for (const who of ['retain', 'target'] as const) {
    const results = who === 'retain' ? o.retainResults : o.targetResults;
    const dir = who === 'retain' ? o.retainModelDir : o.targetModelDir;
    if (results) others.set(who, results);
    else if (dir) {
      const slot: ModelSlot = { dir, model: null, tok: tokenizerFor(dir, tok), owned: false };
      otherSlots.push(slot);
      // Loaded on first use; when it is also the reference model, the same weights are shared.
      const lazy = new Proxy({} as CausalLM, {
        get(_t, prop) {
          const m = refSlot && refSlot.dir === dir ? ensureLoaded(refSlot) : ensureLoaded(slot);
          const v = (m as unknown as Record<string | symbol, unknown>)[prop];
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(m) : v;
        },
      });
      others.set(who, new Evaluation(who, lazy, slot.tok!, modelContentHash(dir), sets, format, { ...shared, reference: () => null, hasOther: () => false }));
    }
  }

  const main = new Evaluation(o.name ?? 'model', model, tok, o.modelDir && !o.model ? modelContentHash(o.modelDir) : null, sets, format, shared);
  // An in-memory model may differ from its folder, so only a model loaded here is cached by content.

  const requested = o.metrics ?? listMetrics().filter((m) => !main.unavailable(m)?.skip).map((m) => m.name);
  for (const n of requested) getMetric(n); // unknown names fail here, listing the known ones
  const results = new Map<string, MetricResult>();
  try {
    for (const name of requested) {
      const r = await main.metric(name);
      results.set(name, r);
      log(`[eval] ${name} = ${r.aggValue === null ? `— (${r.reason ?? 'absent'})` : Number(r.aggValue).toPrecision(4)}`);
    }

    // Robustness variants: quantized copies and the relearning hook, on the forget-side metrics.
    const variants: string[] = [];
    const variantMetrics = requested.filter((n) => getMetric(n).variant);
    const runVariant = async (prefix: string, copy: CausalLM) => {
      variants.push(prefix);
      const hash = main.hash && prefix !== 'relearn' ? sha256(`${main.hash}|${prefix}`) : null;
      const ev = new Evaluation(`${main.label} ${prefix}`, copy, tok, hash, sets, format, { ...shared, reference: () => null, hasOther: () => false });
      for (const name of variantMetrics) {
        const r = await ev.metric(name);
        results.set(`${prefix}_${name}`, r);
        log(`[eval] ${prefix}_${name} = ${r.aggValue === null ? `— (${r.reason ?? 'absent'})` : Number(r.aggValue).toPrecision(4)}`);
      }
    };
    for (const q of o.quantize ?? []) {
      const copy = cloneModel(model);
      try {
        quantizeModel(copy, q);
        await runVariant(q, copy);
      } finally {
        copy.dispose();
      }
    }
    if (o.relearn) {
      const copy = cloneModel(model);
      let relearned: CausalLM | null = null;
      try {
        relearned = await o.relearn(copy);
        await runVariant('relearn', relearned);
      } finally {
        if (relearned && relearned !== copy) relearned.dispose();
        copy.dispose();
      }
    }

    const seconds = (Date.now() - t0) / 1000;
    const evalJson: EvalJson = {};
    const summary: Record<string, number | null> = {};
    const metaMetrics: EvalMeta['metrics'] = {};
    for (const [name, r] of results) {
      evalJson[name] = toEntry(r);
      summary[name] = (evalJson[name] as EvalEntry).agg_value;
      const base = variants.find((v) => name.startsWith(`${v}_`) && results.has(name.slice(v.length + 1)));
      const def = getMetric(base ? name.slice(base.length + 1) : name);
      metaMetrics[name] = { description: def.description, group: base ? 'robustness' : def.group, higher_is_better: def.higherIsBetter, ...(base ? { variant_of: def.name } : {}) };
    }
    evalJson._meta = {
      lethe_eval_version: EVAL_CACHE_VERSION,
      model: o.name ?? o.modelDir ?? 'in-memory model',
      suite: suiteName,
      sets: Object.fromEntries(sets.map((s) => [s.name, { kind: s.kind, items: s.items.length, description: s.description }])),
      prompt_format: format,
      retain_model: o.retainModelDir ?? (o.retainResults ? 'given results' : null),
      target_model: o.targetModelDir ?? (o.targetResults ? 'given results' : null),
      reference_model: refDir,
      variants,
      metrics: metaMetrics,
      retain_results: Object.fromEntries([...otherRead.retain].map(([k, r]) => [k, toEntry(r)])),
      target_results: Object.fromEntries([...otherRead.target].map(([k, r]) => [k, toEntry(r)])),
      seconds,
      created: new Date().toISOString(),
    };
    if (o.outDir) writeResults(o.outDir, evalJson, summary);
    log(`[eval] ${results.size} metrics in ${seconds.toFixed(1)} s${o.outDir ? ` → ${o.outDir}` : ''}`);
    return { eval: evalJson, summary, results, seconds };
  } finally {
    for (const m of owned) m.dispose();
    for (const s of [...otherSlots, ...(refSlot ? [refSlot] : [])]) if (s.owned && s.model) {
      s.model.dispose();
      s.model = null;
    }
  }
}

/**
 * Writes the two result files, each atomically (temporary file, fsync, rename). Their shape, which the
 * Markdown/HTML reports read:
 *   EVAL.json    {"<metric>": {"agg_value": number|null, "value_by_index"?: {"<item index>": {...per-item values}},
 *                              "reason"?: string (why agg_value is null), ...extra (e.g. MIA: auc, forget, holdout, roc;
 *                              forget_quality: ks_statistic, method; model_utility: parts, missing)},
 *                 "_meta": {model, suite, sets: {name: {kind, items, description}}, prompt_format, retain_model,
 *                           target_model, reference_model, variants, metrics: {"<metric>": {description, group,
 *                           higher_is_better, variant_of?}}, retain_results, target_results (the other models'
 *                           entries that derived metrics read, same shape as above), seconds, created}}
 *   SUMMARY.json {"<metric>": agg_value}  (aggregates only, as open-unlearning's SUMMARY.json)
 * Robustness variants are ordinary keys with a prefix: int8_<metric>, int4_<metric>, relearn_<metric>.
 */
export function writeResults(outDir: string, evalJson: EvalJson, summary: Record<string, number | null>): void {
  mkdirSync(outDir, { recursive: true });
  writeAtomic(join(outDir, 'EVAL.json'), toJson(evalJson));
  writeAtomic(join(outDir, 'SUMMARY.json'), toJson(summary));
}

/** Reads an EVAL.json written by evaluate() (for retainResults / targetResults). */
export function readEvalJson(path: string): EvalJson {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'EVAL.json') : path;
  if (!existsSync(file)) throw new Error(`${file} does not exist (expected an EVAL.json written by lethe eval)`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as EvalJson;
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}
