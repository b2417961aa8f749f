// `lethe eval`: evaluate a model on a suite or on files; writes EVAL.json, SUMMARY.json, REPORT.md and report.html.
import type { Command } from 'commander';
import { LetheError, invalidArgument } from '../util/errors.js';
import type { ShadowSpec } from '../eval/shadows.js';
import { int, list } from './options.js';
import { registerEvalMeta } from './eval-meta.js';
import { parseFieldMap, type FieldMap } from '../train/fields.js';

interface EvalCliOptions {
  model: string;
  relearn?: string;
  suite?: string;
  forget?: string;
  retain?: string;
  holdout?: string;
  data?: string;
  retainModel?: string;
  targetModel?: string;
  referenceModel?: string;
  retainResults?: string;
  metrics?: string;
  promptTemplate?: string;
  chatTemplate?: boolean;
  quantize?: string;
  cache?: string | false;
  batchSize: number;
  out: string;
  overwrite?: boolean;
  list?: boolean;
  tasks?: string;
  numFewshot: number;
  json?: boolean;
  profile?: boolean;
  fields?: FieldMap;
  mia?: string;
  shadows?: number;
  shadowBase?: string;
  shadowData?: string;
  shadowTrain?: string;
}

export function registerEval(program: Command): void {
  const command = program
    .command('eval')
    // `eval meta` takes options of the same names as eval's: those after `meta` are meta's.
    .enablePositionalOptions()
    .description(
      'evaluate a model: forgetting (TOFU, MUSE, WHP familiarity), privacy (MIAs, privleak), utility, scope, robustness → EVAL.json + SUMMARY.json',
    )
    .option('--model <dir>', 'the model to evaluate (HF folder)')
    .option('--suite <name>', 'persona[:forget01|forget05|forget10] | book | general | bias | secrets (read from --data)')
    .option('--forget <file>', 'forget set JSONL ({question, answer, paraphrased_answer?, perturbed_answer?} or {text})')
    .option('--retain <file>', 'retain set JSONL (same layouts)')
    .option('--holdout <file>', 'holdout set JSONL, never trained on (membership inference)')
    .option('--fields <map>', 'where the files keep the fields: question=prompt,answer=completion, text=FIELD, or messages', (v: string) =>
      parseFieldMap(v, 'eval'),
    )
    .option('--data <dir>', 'built suites folder (`lethe data build all --out DIR`)')
    .option('--retain-model <dir>', 'model trained without the forget set (forget_quality, privleak; default reference model)')
    .option('--retain-results <file>', 'EVAL.json of the retain model instead of --retain-model')
    .option('--target-model <dir>', 'the model before unlearning (model_utility_rel_target)')
    .option('--reference-model <dir>', 'reference model for mia_reference and generation fluency (default: --retain-model)')
    .option('--metrics <list>', 'comma-separated metric names (default: all that apply)')
    .option('--prompt-template <t>', 'QA template with {question} and {answer} (default "Question: {question}\\nAnswer: {answer}")')
    .option('--chat-template', "prompt with the tokenizer's chat template")
    .option(
      '--relearn <spec>',
      "relearning attack: fine-tune a copy for steps=N at lr=X on related text (data=FILE), then the forget metrics again as relearn_*; split=person_id relearns half of each person's forget rows and measures the other half",
    )
    .option('--mia <attack>', 'per-record membership inference with shadow models: lira → mia_lira, mia_lira_identified')
    .option(
      '--shadows <k>',
      'shadow models for --mia lira, each trained on a random half of forget ∪ holdout (default 8, at least 4)',
      int('eval', '--shadows'),
    )
    .option('--shadow-base <dir>', 'the model the shadows are fine-tuned from (the one the target was fine-tuned from)')
    .option('--shadow-data <file>', 'rows every shadow also trains on besides its half of the candidates (e.g. the retain set)')
    .option('--shadow-train <spec>', "the shadows' fine-tune: epochs=8,lr=1e-3,batch=16,seed=0 (any subset)")
    .option('--quantize <modes>', 'also evaluate quantized copies: int8, int4 or int8,int4')
    .option('--cache <dir>', 'result cache folder (default $LETHE_CACHE, else <out>/../.lethe-cache)')
    .option('--no-cache', 'do not read or write the result cache')
    .option('--batch-size <n>', 'sequences per forward / generation batch', int('eval', '--batch-size'), 32)
    .option('--out <dir>', 'output folder for EVAL.json and SUMMARY.json (new or empty)')
    .option('--overwrite', 'replace a non-empty --out: its contents are deleted first')
    .option('--json', 'print {out, seconds, summary} as one JSON object instead of the table')
    .option('--profile', 'print where the time went: each need of each model (token statistics, generations, …), quantizing, relearning')
    .option(
      '--tasks <list>',
      'multiple-choice tasks scored as lm-evaluation-harness does → mc_<task>_acc, mc_<task>_acc_norm: built-in world_facts, gcide_definitions, general_cloze (from --data) and [name=]arc|boolq|winogrande|hellaswag|mmlu|generic:FILE.jsonl, comma-separated',
    )
    .option(
      '--num-fewshot <k>',
      'few-shot examples per multiple-choice item, drawn from the same file (never the item)',
      int('eval', '--num-fewshot', { min: 0 }),
      0,
    )
    .option('--list', 'list the registered metrics and exit')
    .action(async (opts: EvalCliOptions) => {
      await import('../eval/metrics/index.js');
      const { listMetrics } = await import('../eval/metrics/registry.js');
      if (opts.list) {
        for (const m of listMetrics()) console.log(`${m.name.padEnd(32)} ${m.group.padEnd(10)} ${m.description}`);
        return;
      }
      if (!opts.model) throw new LetheError('BAD_INPUT', 'eval: --model DIR is required');
      if (!opts.out) throw new LetheError('BAD_INPUT', 'eval: --out DIR is required');
      if (!opts.suite && !opts.forget && !opts.tasks)
        throw new LetheError(
          'BAD_INPUT',
          'eval: give --suite persona:forget10|book|general (with --data DIR), --forget FILE or --tasks LIST',
        );
      if (opts.suite && opts.forget)
        throw new LetheError('BAD_INPUT', 'eval: give either --suite or --forget/--retain/--holdout, not both');
      const { evaluate } = await import('../eval/evaluate.js');
      const { readEvalJson } = await import('../eval/eval-file.js');
      const { checkQuantizeMode } = await import('../eval/quantize.js');
      const { parseRelearn, relearnPlan, relearnHook } = await import('../eval/relearn.js');
      const shadows = await shadowSpec(opts);
      const relearnSpec = opts.relearn ? parseRelearn(opts.relearn) : null;
      const plan = relearnSpec ? relearnPlan(relearnSpec, { suite: opts.suite, dataDir: opts.data, forgetFile: opts.forget }) : null;
      const relearn = relearnSpec && plan ? relearnHook(relearnSpec, opts.model, plan.rows, (l) => console.error(l)) : undefined;
      const r = await evaluate({
        relearn,
        relearnForgetItems: plan?.measured,
        modelDir: opts.model,
        suite: opts.suite,
        dataDir: opts.data,
        files: opts.forget ? { forget: opts.forget, retain: opts.retain, holdout: opts.holdout } : undefined,
        fields: opts.fields,
        retainModelDir: opts.retainModel,
        retainResults: opts.retainResults ? readEvalJson(opts.retainResults) : undefined,
        targetModelDir: opts.targetModel,
        referenceModelDir: opts.referenceModel,
        metrics: opts.metrics === undefined ? undefined : list(opts.metrics),
        promptFormat: { template: opts.promptTemplate, chat: opts.chatTemplate },
        quantize: opts.quantize?.split(',').map((s) => checkQuantizeMode(s.trim())),
        cacheDir: opts.cache === false ? null : (opts.cache ?? process.env.LETHE_CACHE),
        batchSize: opts.batchSize,
        outDir: opts.out,
        overwrite: opts.overwrite,
        tasks: opts.tasks,
        shadows,
        numFewshot: opts.numFewshot,
      });
      const { writeReports } = await import('../eval/report/index.js');
      await writeReports([opts.out], { retain: opts.retainResults });
      if (opts.profile) {
        const { formatProfile } = await import('../train/profile.js');
        console.error(formatProfile('[eval] profile', r.profile, r.seconds));
      }
      if (opts.json) {
        console.log(
          JSON.stringify(
            { out: opts.out, seconds: r.seconds, summary: r.summary, ...(opts.profile ? { profile: r.profile } : {}) },
            null,
            2,
          ),
        );
        return;
      }
      const width = Math.max(...Object.keys(r.summary).map((k) => k.length));
      for (const [k, v] of Object.entries(r.summary)) console.log(`${k.padEnd(width)}  ${v === null ? '—' : Number(v).toPrecision(4)}`);
      console.log(
        `${Object.keys(r.summary).length} metrics in ${r.seconds.toFixed(1)} s → ${opts.out}/EVAL.json, SUMMARY.json, REPORT.md, report.html`,
      );
    });
  registerEvalMeta(command);
}

/** The shadow models of --mia lira, or undefined; the shadow options without it are a mistake. */
async function shadowSpec(opts: EvalCliOptions): Promise<ShadowSpec | undefined> {
  const given = (['shadows', 'shadowBase', 'shadowData', 'shadowTrain'] as const).filter((k) => opts[k] !== undefined);
  if (opts.mia === undefined) {
    if (given.length)
      throw new LetheError('BAD_INPUT', 'eval: --shadows, --shadow-base, --shadow-data and --shadow-train go with --mia lira');
    return undefined;
  }
  if (opts.mia !== 'lira') throw invalidArgument('eval', '--mia', "'lira'", opts.mia);
  if (!opts.shadowBase)
    throw new LetheError('BAD_INPUT', 'eval: --mia lira needs --shadow-base DIR (the model the shadows are fine-tuned from)');
  const { parseShadowTraining, SHADOW_TRAINING_DEFAULTS } = await import('../eval/shadows.js');
  return {
    count: opts.shadows ?? 8,
    baseDir: opts.shadowBase,
    dataFile: opts.shadowData,
    ...(opts.shadowTrain ? parseShadowTraining(opts.shadowTrain) : SHADOW_TRAINING_DEFAULTS),
  };
}
