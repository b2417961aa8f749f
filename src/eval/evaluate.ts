// evaluate(): runs the registered metrics on one model and writes EVAL.json and SUMMARY.json.
//
// Needs are computed once per (model, item set) and shared (./needs.ts); per-metric results are
// cached on disk by content (./result-cache.ts), so a retain model is evaluated once however many
// unlearned models are compared with it.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CausalLM } from '../models/model.js';
import { loadModel } from '../models/load.js';
import { loadTokenizer, type Tokenizer } from '../models/tokenizer.js';
import { checkTemplate, type PromptFormat } from '../train/prompt.js';
import { sha256 } from '../util/hash.js';
import { claimOutputDir } from '../util/output.js';
import { getMetric, listMetrics, type EvalItemSet, type MetricResult } from './metrics/index.js';
import { loadSets, PERSONA_PROBES, type SuiteOptions } from './suites.js';
import { cloneModel, quantizeModel, type QuantizeMode } from './quantize.js';
import { loadMcTasks } from './mc/tasks.js';
import { fromEvalJson, toEntry, writeResults, type EvalEntry, type EvalJson, type EvalMeta } from './eval-file.js';
import { Evaluation } from './evaluation.js';
import { ensureLoaded, type ModelSlot } from './needs.js';
import { EVAL_CACHE_VERSION, modelCacheHash } from './result-cache.js';
import { checkShadows, type ShadowSpec } from './shadows.js';
import { LetheError } from '../util/errors.js';
import type { FieldMap } from '../train/fields.js';

export interface EvaluateOptions {
  /** An in-memory model (not disposed) or a folder to load. */
  model?: CausalLM;
  modelDir?: string;
  tokenizer?: Tokenizer;
  /** persona[:forgetNN] | book | general, read from dataDir; or files; or sets made by the caller. */
  suite?: string;
  dataDir?: string;
  files?: { forget: string; retain?: string; holdout?: string };
  /** Where `files` keep question/answer/text, when not under those names (--fields). */
  fields?: FieldMap;
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
  /** Shadow models for the per-record membership attack (mia_lira, mia_lira_identified; ./shadows.ts). */
  shadows?: ShadowSpec;
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
  /** With `relearn`: measure the relearn_* metrics on these forget items only (the held-out facts the
   *  attack did not train on; the wrapped forget sets follow their source items). */
  relearnForgetItems?: number[];
  /** Where EVAL.json and SUMMARY.json go (nothing written without it). */
  outDir?: string;
  /** Replace a non-empty outDir (its contents are deleted first); without it a non-empty outDir is refused. */
  overwrite?: boolean;
  /** Result cache (default <outDir>/../.lethe-cache; the CLI passes $LETHE_CACHE); null disables it. */
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
  /** Seconds per piece of work (each need of each model, quantizing, the relearning attack), and the rest. */
  profile: Record<string, number>;
}

function tokenizerFor(dir: string, fallback: Tokenizer): Tokenizer {
  return existsSync(join(dir, 'tokenizer.json')) ? loadTokenizer(dir) : fallback;
}

/** Evaluates one model; writes EVAL.json and SUMMARY.json to outDir when given. */
export async function evaluate(o: EvaluateOptions): Promise<EvaluateResult> {
  const t0 = Date.now();
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (!o.model && !o.modelDir) throw new LetheError('BAD_INPUT', 'evaluate: give model or modelDir');
  if (o.promptFormat?.template && !o.promptFormat.chat) checkTemplate(o.promptFormat.template);
  const format = o.promptFormat ?? {};

  const tasksOnly = !!o.tasks?.length && !o.sets && !o.suite && !o.files;
  const { name: suiteName, sets: baseSets } = o.sets
    ? { name: o.suite ?? 'custom', sets: o.sets }
    : tasksOnly
      ? { name: 'tasks', sets: [] }
      : loadSets({ suite: o.suite, dataDir: o.dataDir, files: o.files, fields: o.fields }, o.suiteOptions);
  const sets: EvalItemSet[] = o.tasks?.length
    ? [...baseSets, ...loadMcTasks(o.tasks, { dataDir: o.dataDir, numFewshot: o.numFewshot })]
    : baseSets;
  for (const s of sets) if (!s.items.length) throw new LetheError('BAD_INPUT', `item set '${s.name}' is empty (${s.description})`);
  if (o.outDir) {
    const read = [
      ['--model', o.modelDir],
      ['--retain-model', o.retainModelDir],
      ['--target-model', o.targetModelDir],
      ['--reference-model', o.referenceModelDir],
      ['--data', o.dataDir],
      ['--shadow-base', o.shadows?.baseDir],
      ['--shadow-data', o.shadows?.dataFile],
      ...Object.entries(o.files ?? {}).map(([k, f]) => [`--${k}`, f]),
    ] as const;
    claimOutputDir(o.outDir, {
      what: 'eval',
      overwrite: o.overwrite,
      inputs: read.filter(([, p]) => !!p).map(([name, path]) => ({ name, path: path! })),
    });
  }

  const owned: CausalLM[] = [];
  const model = o.model ?? loadModel(o.modelDir!);
  if (!o.model) owned.push(model);
  const tok =
    o.tokenizer ??
    (o.modelDir
      ? loadTokenizer(o.modelDir)
      : (() => {
          throw new LetheError('BAD_INPUT', 'evaluate: an in-memory model needs a tokenizer');
        })());
  const cacheDir = o.cacheDir === null ? null : (o.cacheDir ?? (o.outDir ? join(resolve(o.outDir), '..', '.lethe-cache') : null));
  const batchSize = o.batchSize ?? 32;

  if (o.shadows) checkShadows(o.shadows, o.modelDir);
  const refDir = o.referenceModelDir ?? o.retainModelDir ?? null;
  const refSlot: ModelSlot | null = refDir ? { dir: refDir, model: null, tok: null, owned: false } : null;
  if (refSlot) refSlot.tok = tokenizerFor(refDir!, tok);

  const profile = new Map<string, number>();
  const charge = (what: string, seconds: number) => profile.set(what, (profile.get(what) ?? 0) + seconds);
  const others = new Map<'retain' | 'target', Evaluation | EvalJson>();
  const otherSlots: ModelSlot[] = [];
  const otherRead = { retain: new Map<string, MetricResult>(), target: new Map<string, MetricResult>() };
  const shared = {
    cacheDir,
    log,
    charge,
    batchSize,
    shadows: o.shadows ?? null,
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
      others.set(
        who,
        new Evaluation(who, lazy, slot.tok!, modelCacheHash(dir), sets, format, {
          ...shared,
          reference: () => null,
          hasOther: () => false,
        }),
      );
    }
  }

  const main = new Evaluation(
    o.name ?? 'model',
    model,
    tok,
    o.modelDir && !o.model ? modelCacheHash(o.modelDir) : null,
    sets,
    format,
    shared,
  );
  // An in-memory model may differ from its folder, so only a model loaded here is cached by content.

  const requested =
    o.metrics ??
    listMetrics()
      .filter((m) => !main.unavailable(m)?.skip)
      .map((m) => m.name);
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
    const runVariant = async (prefix: string, copy: CausalLM, only?: number[]) => {
      variants.push(prefix);
      const hash = main.hash && prefix !== 'relearn' ? sha256(`${main.hash}|${prefix}`) : null;
      // The target's results stay readable (the linear probe fitted on the target reads the variant's hidden
      // states); the retain and reference models are not varied alongside, so what compares with them is not run.
      const ev = new Evaluation(`${main.label} ${prefix}`, copy, tok, hash, only ? forgetSubset(sets, only) : sets, format, {
        ...shared,
        reference: () => null,
        hasOther: (who) => who === 'target' && shared.hasOther('target'),
      });
      for (const name of variantMetrics) {
        const r = await ev.metric(name);
        results.set(`${prefix}_${name}`, r);
        log(`[eval] ${prefix}_${name} = ${r.aggValue === null ? `— (${r.reason ?? 'absent'})` : Number(r.aggValue).toPrecision(4)}`);
      }
    };
    for (const q of o.quantize ?? []) {
      const copy = cloneModel(model);
      try {
        const tq = Date.now();
        quantizeModel(copy, q);
        charge(`quantizing (${q})`, (Date.now() - tq) / 1000);
        await runVariant(q, copy);
      } finally {
        copy.dispose();
      }
    }
    if (o.relearn) {
      const copy = cloneModel(model);
      let relearned: CausalLM | null = null;
      try {
        const tr = Date.now();
        relearned = await o.relearn(copy);
        charge('relearning attack (fine-tune)', (Date.now() - tr) / 1000);
        await runVariant('relearn', relearned, o.relearnForgetItems);
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
      metaMetrics[name] = {
        description: def.description,
        group: base ? 'robustness' : def.group,
        higher_is_better: def.higherIsBetter,
        ...(base ? { variant_of: def.name } : {}),
      };
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
      ...(o.shadows ? { shadows: { ...o.shadows } } : {}),
      variants,
      metrics: metaMetrics,
      retain_results: Object.fromEntries([...otherRead.retain].map(([k, r]) => [k, toEntry(r)])),
      target_results: Object.fromEntries([...otherRead.target].map(([k, r]) => [k, toEntry(r)])),
      seconds,
      created: new Date().toISOString(),
    };
    if (o.outDir) writeResults(o.outDir, evalJson, summary);
    log(`[eval] ${results.size} metrics in ${seconds.toFixed(1)} s${o.outDir ? ` → ${o.outDir}` : ''}`);
    const charged = [...profile.values()].reduce((a, b) => a + b, 0);
    return {
      eval: evalJson,
      summary,
      results,
      seconds,
      profile: { ...Object.fromEntries(profile), 'other (loading, metric arithmetic, cache)': Math.max(0, seconds - charged) },
    };
  } finally {
    for (const m of owned) m.dispose();
    for (const s of [...otherSlots, ...(refSlot ? [refSlot] : [])])
      if (s.owned && s.model) {
        s.model.dispose();
        s.model = null;
      }
  }
}

/** The item sets with 'forget' cut to the given items (and the wrapped forget sets to those sources, the
 *  persona probes of the forget people to the same facts: person and field). */
function forgetSubset(sets: EvalItemSet[], items: number[]): EvalItemSet[] {
  const keep = new Set(items);
  const fact = (it: Record<string, unknown>) => `${String(it.person_id)}|${String(it.field)}`;
  const forget = sets.find((s) => s.name === 'forget');
  const facts = new Set(forget?.items.filter((_, k) => keep.has(k)).map(fact));
  return sets.map((s) => {
    if (s.name === 'forget')
      return { ...s, items: s.items.filter((_, k) => keep.has(k)), description: `${s.description} (${keep.size} held-out items)` };
    if (s.name === 'forget_reformat' || s.name === 'forget_jailbreak')
      return { ...s, items: s.items.filter((it) => keep.has(Number(it.source_index))) };
    if (Object.keys(PERSONA_PROBES).some((p) => s.name === `forget_${p}`))
      return { ...s, items: s.items.filter((it) => facts.has(fact(it))) };
    return s;
  });
}
