// `lethe eval meta`: faithfulness and robustness of every metric on a pool of models with and
// without the forget knowledge → meta.json, META.md, meta.html; --deployment records it for releases.
import type { Command } from 'commander';
import { join } from 'node:path';
import { invalidArgument, LetheError } from '../util/errors.js';
import { int, list } from './options.js';

interface MetaCliOptions {
  present?: string[];
  absent?: string[];
  buildPool?: boolean;
  poolNpoSteps: string;
  suite?: string;
  data?: string;
  forget?: string;
  retain?: string;
  holdout?: string;
  retainModel?: string;
  targetModel?: string;
  metrics?: string;
  quantize?: string;
  relearn?: string;
  cache?: string | false;
  batchSize: number;
  deployment?: string;
  out: string;
  overwrite?: boolean;
  resume?: boolean;
}

export function registerEvalMeta(evalCommand: Command): void {
  evalCommand
    .command('meta')
    .description(
      "rank the metrics by faithfulness: ROC AUC separating models that hold the forget knowledge (--present) from models that don't (--absent); robustness: the same on int4_/relearn_ variants",
    )
    .option('--present <dirs...>', 'models that hold the forget knowledge: the target, relearned or half-unlearned models')
    .option('--absent <dirs...>', 'models without it: retain models, the never-trained base')
    .option(
      '--build-pool',
      'also build, under <out>/pool, models from --target-model and --retain-model: the retain model relearned on the forget rows, the target after a few NPO steps (present), the retain model fine-tuned on retain rows (absent)',
    )
    .option('--pool-npo-steps <list>', 'with --build-pool: NPO steps (lr 1e-4) of each half-unlearned model', '4,8,16')
    .option('--suite <name>', 'persona[:forgetNN] | book (read from --data)')
    .option('--data <dir>', 'built suites folder (`lethe data build all --out DIR`)')
    .option('--forget <file>', 'forget set JSONL (instead of --suite)')
    .option('--retain <file>', 'retain set JSONL')
    .option('--holdout <file>', 'holdout set JSONL, never trained on')
    .option('--retain-model <dir>', 'the retain model the metrics that compare with one read (forget_quality, privleak)')
    .option('--target-model <dir>', 'the target model the linear probe is fitted on (forget_probe_Prob)')
    .option('--metrics <list>', 'comma-separated metric names (default: all that apply)')
    .option('--quantize <mode>', 'robustness under 4-bit quantization: int4 (int8 also accepted)')
    .option('--relearn <spec>', 'robustness under a relearning attack on each pool model (as `lethe eval --relearn`)')
    .option('--cache <dir>', 'result cache folder (default $LETHE_CACHE, else <out>/.lethe-cache)')
    .option('--no-cache', 'do not read or write the result cache')
    .option('--batch-size <n>', 'sequences per forward / generation batch', int('eval meta', '--batch-size'), 32)
    .option(
      '--deployment <dir>',
      "record the faithfulness in this deployment's data folder: later release certificates warn on policy metrics below 0.8",
    )
    .requiredOption('--out <dir>', 'output folder for meta.json, META.md, meta.html and each model’s evaluation (new or empty)')
    .option('--overwrite', 'replace a non-empty --out: its contents are deleted first')
    .option('--resume', 'continue an interrupted run in --out: the models evaluated already are read back')
    .action(async (opts: MetaCliOptions) => {
      if (!opts.suite && !opts.forget) throw new LetheError('BAD_INPUT', 'eval meta: give --suite NAME with --data DIR, or --forget FILE');
      if (opts.suite && opts.forget)
        throw new LetheError('BAD_INPUT', 'eval meta: give either --suite or --forget/--retain/--holdout, not both');
      const { metaEvaluate } = await import('../eval/meta.js');
      const { checkQuantizeMode } = await import('../eval/quantize.js');
      const { parseRelearn, relearnPlan, relearnHook } = await import('../eval/relearn.js');
      const { writeFileAtomic } = await import('../util/atomic.js');
      const { metaMarkdown, metaHtml } = await import('../eval/report/meta.js');
      const spec = opts.relearn ? parseRelearn(opts.relearn) : null;
      const plan = spec ? relearnPlan(spec, { suite: opts.suite, dataDir: opts.data, forgetFile: opts.forget }) : null;
      const log = (l: string) => console.error(l);
      const buildPool = opts.buildPool ? await poolBuilder(opts, log) : undefined;
      const m = await metaEvaluate({
        pool: [
          ...(opts.present ?? []).map((dir) => ({ dir, present: true })),
          ...(opts.absent ?? []).map((dir) => ({ dir, present: false })),
        ],
        buildPool,
        suite: opts.suite,
        dataDir: opts.data,
        files: opts.forget ? { forget: opts.forget, retain: opts.retain, holdout: opts.holdout } : undefined,
        retainModelDir: opts.retainModel,
        targetModelDir: opts.targetModel,
        metrics: opts.metrics === undefined ? undefined : list(opts.metrics),
        quantize: opts.quantize?.split(',').map((s) => checkQuantizeMode(s.trim())),
        relearnFor: spec && plan ? (dir) => relearnHook(spec, dir, plan.rows, log) : undefined,
        relearnForgetItems: plan?.measured,
        cacheDir: opts.cache === false ? null : (opts.cache ?? process.env.LETHE_CACHE),
        batchSize: opts.batchSize,
        outDir: opts.out,
        overwrite: opts.overwrite,
        resume: opts.resume,
        log,
      });
      writeFileAtomic(join(opts.out, 'META.md'), metaMarkdown(m));
      writeFileAtomic(join(opts.out, 'meta.html'), metaHtml(m));
      if (opts.deployment) {
        const { recordMetaEvaluation } = await import('../workflow/meta-evaluation.js');
        console.error(`recorded as the deployment's last meta-evaluation: ${recordMetaEvaluation(opts.deployment, m)}`);
      }
      console.log(metaMarkdown(m));
      console.log(
        `${m.metrics.length} metrics on ${m.pool.length} models in ${m.seconds.toFixed(1)} s → ${opts.out}/meta.json, META.md, meta.html`,
      );
    });
}

/** --build-pool's builder: the target, the retain model and the forget/retain rows (a persona split's, or --forget/--retain). */
async function poolBuilder(opts: MetaCliOptions, log: (l: string) => void) {
  if (!opts.targetModel || !opts.retainModel)
    throw new LetheError('BAD_INPUT', 'eval meta --build-pool: give --target-model and --retain-model (the pool is built from them)');
  const { personaQaFiles } = await import('../eval/suites.js');
  const persona = opts.data ? personaQaFiles(opts.suite, opts.data) : null;
  const forgetFile = persona?.forget ?? opts.forget;
  const retainFile = persona?.retain ?? opts.retain;
  if (!forgetFile || !retainFile)
    throw new LetheError(
      'BAD_INPUT',
      'eval meta --build-pool: needs forget and retain rows (--suite persona:forgetNN --data DIR, or --forget and --retain)',
    );
  const npoSteps = list(opts.poolNpoSteps).map((v) => {
    const n = Number(v);
    if (!(Number.isInteger(n) && n > 0)) throw invalidArgument('eval meta', '--pool-npo-steps', 'positive integers, comma-separated', v);
    return n;
  });
  const { buildPool } = await import('../workflow/meta-pool.js');
  const o = { target: opts.targetModel, retainModel: opts.retainModel, forgetFile, retainFile, npoSteps, log };
  return (dir: string) => buildPool(dir, o);
}
