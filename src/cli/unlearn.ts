// `lethe forget`, `lethe methods`, `lethe finetune`: thin — parse, validate, call the library.
import { Option, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LetheError } from '../util/errors.js';
import type { ForgetOptions } from '../unlearn/forget.js';
import { int, keyValue, trainingFlags, trainingOptions, type TrainingFlags } from './options.js';
import { lineageFlags, lineageHook, type LineageFlags } from './lineage.js';

type ForgetFlags = TrainingFlags &
  LineageFlags & {
    model: string;
    forget: string;
    retain?: string | false;
    method: string;
    set: Record<string, string>;
    config?: string;
    mask?: string;
    alsoForget?: string[];
    evalEvery?: number;
    keepBest?: string;
    json?: boolean;
    dryRun?: boolean;
    search?: number | true;
    holdout?: string;
    utilityText?: string;
    criterion?: string;
    retainModel?: string;
  };

export function registerUnlearnCommands(program: Command): void {
  trainingFlags(
    lineageFlags(program.command('forget'))
      .description('unlearn: remove the forget data from a model with a registered method')
      .requiredOption('--model <dir>', 'the model folder to unlearn from (only read)')
      .requiredOption('--forget <file>', 'JSONL of what to forget ({"text"} or {"question","answer"} rows)')
      .option('--retain <file>', 'JSONL of what to keep')
      .option('--no-retain', 'run a method that uses retain data without it, on purpose (else a warning says what is dropped)')
      .requiredOption('--method <name>', 'method name (see `lethe methods`)')
      .addOption(
        new Option('--set <key=value>', 'a method argument (repeatable), e.g. --set beta=0.2')
          .argParser(keyValue('forget'))
          .default({}, 'none'),
      )
      .option(
        '--config <file>',
        'JSON file with method arguments ({"beta": 0.2}), or the recipe a search wrote (OUT/recipe.json: method arguments and training); --set and given flags win',
      )
      .option('--mask <spec>', 'parameter isolation: saliency:p=0.01[,rows][,relative]')
      .option('--also-forget <files...>', 'earlier forget sets that must stay forgotten')
      .option(
        '--eval-every <n>',
        'every N steps measure forget_prob, retain_prob and gap (= retain_prob − forget_prob) on QA data',
        int('forget', '--eval-every'),
      )
      .option(
        '--keep-best <metric:mode>',
        'keep the weights of the best evaluation, e.g. gap:max, forget_prob:min, or search_score:min (the search criterion; needs --holdout) (needs --eval-every)',
      )
      .option(
        '--search [budget]',
        "choose the recipe: successive halving over BUDGET candidates (default 8) of lr × the method's key argument, each trained to 2× the method's epochs and scored every epoch by --criterion; writes OUT/search.json and OUT/recipe.json",
        int('forget', '--search'),
      )
      .option(
        '--holdout <file>',
        'with --search: JSONL {"question","answer"} rows of records like the forget ones that the model never saw',
      )
      .option('--utility-text <file>', 'with --search: JSONL {"text"} rows of general text whose NLL may rise at most 3% over the start')
      .option(
        '--criterion <name>',
        'with --search: two-sided (default: forget vs holdout membership AUC → 0.5 from either side, answer-probability ratio → 1; no gold model) or forget_quality (needs --retain-model)',
      )
      .option('--retain-model <dir>', 'with --criterion forget_quality: the model trained without the forget data (benchmark mode)')
      .option('--dry-run', 'check every input and print the plan (rows, tokens, steps, lr, what would be written); train nothing')
      .option('--json', 'print the result (or with --dry-run the plan) as one JSON object on stdout (the log stays on stderr)'),
    undefined,
    {
      epochs:
        "passes over the forget data (default: the method's own, `lethe methods` says which and where from: NPO 10; WHP until its stopping rule, at most 20; 5 for methods without one; TaskVector and Distill set their own)",
      lr: "peak learning rate, AdamW with linear warm-up and decay (default: the method's own: NPO 3e-4, WHP 1e-4; 1e-4 for methods without one)",
      batchSize: 'forget rows per step, each with as many retain rows (default: 8)',
      maxLength: "cut examples to this many tokens (default: the model's context)",
    },
  ).action(async (o: ForgetFlags, cmd: Command) => {
    const { forget, parseMask } = await import('../unlearn/index.js');
    let config: Record<string, unknown> = {};
    if (o.config) {
      try {
        config = JSON.parse(readFileSync(o.config, 'utf8')) as Record<string, unknown>;
      } catch (err) {
        throw new LetheError('BAD_INPUT', `--config ${o.config}: ${(err as Error).message}`);
      }
      if (!config || typeof config !== 'object' || Array.isArray(config))
        throw new LetheError('BAD_INPUT', `--config ${o.config}: expected a JSON object of method arguments`);
      const { isRecipe, checkRecipe } = await import('../workflow/search/recipe.js');
      if (isRecipe(config)) {
        // A searched recipe: its training fills what the command line does not give.
        const r = checkRecipe(config, o.config, o.method);
        config = r.args;
        const t = r.training;
        o.lr ??= t.lr;
        if (o.epochs === undefined && o.steps === undefined) [o.epochs, o.steps] = [t.epochs, t.steps];
        o.batchSize ??= t.batchSize;
        if (cmd.getOptionValueSource('seed') !== 'cli') o.seed = t.seed;
        o.evalEvery ??= t.evalEvery;
        o.keepBest ??= t.keepBest;
        o.criterion ??= r.criterion.name;
        if (r.criterion.utilityTextSha256 && !o.utilityText)
          throw new LetheError(
            'BAD_INPUT',
            `--config ${o.config}: the recipe's keep-best measured general text: give the same --utility-text`,
          );
      }
    }
    const training = trainingOptions(o);
    const options: ForgetOptions = {
      modelDir: o.model,
      forgetFile: o.forget,
      retainFile: o.retain || undefined,
      noRetain: o.retain === false,
      method: o.method,
      args: { ...config, ...o.set },
      outDir: o.out,
      ...training,
      mask: o.mask ? parseMask(o.mask) : undefined,
      alsoForget: o.alsoForget,
    };
    // Refused before anything trains when the name or its parent is wrong; the search's winner registers too.
    const lineage = await lineageHook(o, {
      how: 'unlearning',
      modelDir: o.model,
      data: [
        { path: o.forget, role: 'forget' },
        ...(o.retain ? [{ path: o.retain, role: 'train' as const }] : []),
        ...(o.alsoForget ?? []).map((path) => ({ path, role: 'forget' as const })),
      ],
      details: { method: o.method },
    });
    if (o.search !== undefined) {
      if (o.evalEvery || o.keepBest)
        throw new LetheError(
          'BAD_INPUT',
          'forget: --search evaluates every epoch and keeps the best by its criterion: drop --eval-every and --keep-best',
        );
      const { recipeSearch } = await import('../workflow/search/recipe-search.js');
      const common = {
        ...options,
        holdoutFile: o.holdout!,
        utilityTextFile: o.utilityText,
        criterion: o.criterion as never,
        retainModelDir: o.retainModel,
        budget: o.search === true ? undefined : o.search,
      };
      if (o.dryRun) {
        const plan = await recipeSearch({ ...common, dryRun: true });
        if (o.json) console.log(JSON.stringify(plan, null, 2));
        return;
      }
      const r = await recipeSearch(common);
      await lineage?.(r.outDir);
      console.error(`[search] re-run the chosen recipe: lethe ${rerunArgs(process.argv.slice(2), o.out)}`);
      if (o.json) console.log(JSON.stringify({ outDir: r.outDir, recipe: r.recipe, search: r.search }, null, 2));
      return;
    }
    if (o.holdout && o.keepBest?.split(':')[0] !== 'search_score')
      throw new LetheError('BAD_INPUT', 'forget: --holdout is for --search (or --keep-best search_score:min with --eval-every)');
    let evaluation;
    if (o.evalEvery && o.keepBest?.split(':')[0] === 'search_score') {
      if (o.keepBest !== 'search_score:min')
        throw new LetheError('BAD_INPUT', `--keep-best search_score is min (lower is better), got '${o.keepBest}'`);
      if (!o.holdout)
        throw new LetheError('BAD_INPUT', '--keep-best search_score:min scores against --holdout FILE: give the holdout the search used');
      const { searchCriterion } = await import('../eval/search-criterion.js');
      evaluation = await searchCriterion({
        modelDir: o.model,
        forgetFile: o.forget,
        retainFile: o.retain || undefined,
        holdoutFile: o.holdout,
        utilityTextFile: o.utilityText,
        criterion: o.criterion as never,
        retainModelDir: o.retainModel,
        every: o.evalEvery,
        format: training.format,
        fields: training.fields,
        device: training.device,
        maxLength: training.maxLength,
      });
    } else if (o.evalEvery) {
      const { forgetEvaluation } = await import('../eval/forget-evaluation.js');
      evaluation = forgetEvaluation({
        modelDir: o.model,
        forgetFile: o.forget,
        retainFile: o.retain || undefined,
        every: o.evalEvery,
        keepBest: o.keepBest,
        format: training.format,
        fields: training.fields,
      });
    }
    if (o.dryRun) {
      const plan = await forget({ ...options, evaluation, dryRun: true, report: o.json ? () => {} : undefined });
      if (o.json) console.log(JSON.stringify(plan, null, 2));
      return;
    }
    const r = await forget({ ...options, evaluation });
    await lineage?.(r.outDir);
    if (o.profile) {
      const { formatProfile } = await import('../train/profile.js');
      console.error(formatProfile('[forget] profile', r.profile, r.seconds));
    }
    // The run's last line (steps, time, parameters changed) is already in the log; --json is the result for scripts.
    if (o.json) {
      const { loop, ...result } = r;
      console.log(JSON.stringify({ ...result, finalLoss: loop.finalLoss, tokens: loop.tokens, resumedFrom: loop.resumedFrom }, null, 2));
    }
  });

  program
    .command('methods')
    .description('list the unlearning methods: what each does, its arguments and defaults, what it needs')
    .option('--json', 'as JSON (arguments as JSON Schema)')
    .action(async (o: { json?: boolean }) => {
      const { describeMethods } = await import('../unlearn/index.js');
      const all = describeMethods();
      if (o.json) {
        console.log(JSON.stringify(all, null, 2));
        return;
      }
      for (const m of all) {
        console.log(`${m.name.padEnd(12)} ${m.description}`);
        const args = Object.entries(m.defaults)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(' ');
        if (args) console.log(`${''.padEnd(12)} arguments: ${args}`);
        console.log(
          `${''.padEnd(12)} training: ${m.training ? `lr ${m.training.lr}, ${m.training.epochs} epochs (${m.training.source})` : 'sets its own steps and lr (give --steps/--epochs and --lr to override)'}`,
        );
        if (m.search) {
          const grid = [`lr ${m.search.lr.join('/')}`, ...Object.entries(m.search.args ?? {}).map(([k, v]) => `${k} ${v.join('/')}`)];
          console.log(`${''.padEnd(12)} --search tries: ${grid.join(' × ')}`);
        }
        const needs = Object.entries(m.needs as Record<string, unknown>)
          .filter(([, v]) => v && v !== 'none')
          .map(([k, v]) => (v === true ? k : `${k}=${v}`))
          .join(', ');
        console.log(`${''.padEnd(12)} needs: ${needs || 'forget data only'}`);
      }
    });

  trainingFlags(
    lineageFlags(program.command('finetune'))
      .description('fine-tune a model on JSONL data (build a target, a reinforced model, a relearning attack)')
      .requiredOption('--model <dir>', 'the model folder to start from (only read)')
      .requiredOption('--data <files...>', 'JSONL files ({"text"} or {"question","answer"} rows)'),
    undefined,
    {
      epochs: 'passes over the data (default: 3)',
      lr: 'peak learning rate, AdamW with linear warm-up and decay (default: 1e-4)',
      batchSize: 'examples per step (default: 8)',
      maxLength: "cut examples to this many tokens (default: the model's context)",
    },
  ).action(async (o: TrainingFlags & LineageFlags & { model: string; data: string[] }) => {
    const { finetune } = await import('../train/finetune.js');
    const lineage = await lineageHook(o, {
      how: o.lora ? 'lora' : 'finetune',
      modelDir: o.model,
      data: o.data.map((path) => ({ path, role: 'train' })),
      details: o.lora ? { merged: !!o.merge } : {},
    });
    const r = await finetune({ modelDir: o.model, dataFiles: o.data, outDir: o.out, ...trainingOptions(o) });
    await lineage?.(o.out);
    if (o.profile) {
      const { formatProfile } = await import('../train/profile.js');
      console.error(formatProfile('[finetune] profile of the steps', r.profile));
    }
    console.log(`finetune: ${r.steps} steps in ${r.seconds.toFixed(1)} s, final loss ${r.finalLoss.toFixed(4)} → ${o.out}`);
  });
}

/** This command line as the re-run of a search's recipe: without --search (and its budget), --resume,
 *  --overwrite or --dry-run, into another folder, with --config OUT/recipe.json. */
export function rerunArgs(argv: readonly string[], out: string): string {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--search') {
      if (/^\d+$/.test(argv[i + 1] ?? '')) i++;
    } else if (a === '--out' || a === '--config') i++;
    else if (!/^--(search|out|config)=/.test(a) && !['--resume', '--overwrite', '--dry-run'].includes(a)) kept.push(a);
  }
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);
  return [...kept, '--config', join(out, 'recipe.json'), '--out', 'OUT2'].map(quote).join(' ');
}
