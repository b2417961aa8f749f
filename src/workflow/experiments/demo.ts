// `lethe demo` (the README's main command): build the tiny benchmark data, train the tiny target
// and its gold-standard retain models, show what the target memorized, unlearn the forget10 people
// beside the gold standard, then run one person's erasure request through the whole workflow
// (./demo-request.ts). --resume
// continues an interrupted demo (finished stages are kept); a non-empty --out is refused without it
// or --overwrite. The demo owns its sub-folders, so it resumes or replaces them itself.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DemoOptions {
  out: string;
  seed: number;
  preset: string;
  resume?: boolean;
  overwrite?: boolean;
  /** The evaluation cache folder (the CLI passes $LETHE_CACHE); unset: evaluate()'s default beside its output. */
  cacheDir?: string;
  log: (line: string) => void;
}

/** A folder of an earlier `lethe demo` (what --resume continues). */
const isDemo = (dir: string) => existsSync(join(dir, 'data')) || existsSync(join(dir, 'run'));

export async function runDemo(o: DemoOptions): Promise<void> {
  const { buildSuite } = await import('../../data/index.js');
  const { runPipeline } = await import('../../train/pipeline.js');
  const { memorizationReport, formatReport } = await import('../../eval/memorization.js');
  const { claimOutputDir } = await import('../../util/output.js');
  claimOutputDir(o.out, { what: 'demo', resume: o.resume, overwrite: o.overwrite, resumable: isDemo });
  const started = Date.now();
  const dataDir = join(o.out, 'data');
  if (!existsSync(join(dataDir, 'general', 'manifest.json'))) {
    o.log(`\n[data] building the tiny persona, book and general suites (seed ${o.seed}) → ${dataDir}`);
    for (const m of buildSuite('all', dataDir, { seed: o.seed, size: 'tiny' }, 'lethe demo')) {
      o.log(`[data] ${m.suite}: ${m.files.map((f) => `${f.path} (${f.lines})`).join(', ')}`);
    }
  } else {
    o.log(`\n[data] reusing ${dataDir}`);
  }
  const runDir = join(o.out, 'run');
  o.log(`[train] preset ${o.preset} → ${runDir} (resumes if interrupted)`);
  const { assessStage } = await import('../../eval/general.js');
  const r = await runPipeline({
    dataDir,
    outDir: runDir,
    preset: o.preset,
    seed: o.seed,
    forgetSplits: ['forget10'],
    bookRetain: true,
    resume: true,
    overwrite: true,
    report: o.log,
    assess: (dir) => assessStage(dir, dataDir),
  });
  o.log(`[train] stages ${Object.keys(r.stages).join(', ')} in ${r.seconds.toFixed(0)} s`);
  o.log('\n' + formatQuality(r.quality));
  const report = await memorizationReport(runDir, dataDir, { split: 'forget10', examples: 6 });
  writeFileSync(join(o.out, 'memorization.json'), JSON.stringify(report, null, 2) + '\n');
  o.log('\n' + formatReport(report));
  await eraseForget10(o, runDir, dataDir);
  const { runDemoRequest } = await import('./demo-request.js');
  await runDemoRequest({ out: o.out, runDir, dataDir, seed: o.seed, log: o.log });
  o.log(`\ndemo done in ${((Date.now() - started) / 1000).toFixed(0)} s; report in ${join(o.out, 'memorization.json')}`);
}

/** General English and world facts per stage, against the base model they all start from. */
export function formatQuality(q: Record<string, Record<string, number>>): string {
  const base = q.base;
  const lines = [
    'General ability kept by every model (held-out GCIDE NLL in nats/token, lower is better; world-facts QA mean P(true answer)):',
  ];
  lines.push(`  ${'model'.padEnd(16)} ${'GCIDE NLL'.padStart(9)} ${'x base'.padStart(7)} ${'facts P'.padStart(8)} ${'x base'.padStart(7)}`);
  for (const [name, m] of Object.entries(q)) {
    const nll = m.gcideNll!;
    const facts = m.worldFactsProb!;
    lines.push(
      `  ${name.padEnd(16)} ${nll.toFixed(3).padStart(9)} ${base ? (nll / base.gcideNll!).toFixed(3).padStart(7) : ''} ${(100 * facts).toFixed(1).padStart(7)}% ${base ? (facts / base.worldFactsProb!).toFixed(3).padStart(7) : ''}`,
    );
  }
  return lines.join('\n');
}

/** The erasure request the demo ends with: the forget10 people, unlearned from the target with the
 *  table's best persona recipe (NPO), then measured beside the target and the retain model. */
async function eraseForget10(o: DemoOptions, runDir: string, dataDir: string): Promise<void> {
  const { forget } = await import('../../unlearn/index.js');
  const { PERSONA_RECIPES, PERSONA_COLUMNS, PERSONA_RELEARN, columnMetrics, scoreModel, holdoutItems } = await import('./persona-book.js');
  const { formatTable } = await import('./table.js');
  const recipe = PERSONA_RECIPES.find((r) => r.label === 'NPO')!;
  const out = join(o.out, 'unlearned-forget10');
  o.log(
    `\n[erasure] request: forget the forget10 people; method ${recipe.method} ${JSON.stringify(recipe.args ?? {})}, lr ${recipe.lr}, ${recipe.epochs} epochs, retain data retain90 → ${out}`,
  );
  const res = await forget({
    modelDir: join(runDir, 'target'),
    forgetFile: join(dataDir, 'persona', 'qa', 'forget10.jsonl'),
    retainFile: join(dataDir, 'persona', 'qa', 'retain90.jsonl'),
    method: recipe.method,
    args: recipe.args,
    lr: recipe.lr,
    epochs: recipe.epochs,
    batchSize: 8,
    seed: o.seed,
    outDir: out,
    resume: true,
    overwrite: true,
    report: o.log,
  });
  const metrics = columnMetrics(PERSONA_COLUMNS);
  const retain = join(runDir, 'retain-forget10');
  const holdout = holdoutItems(dataDir);
  const score = (name: string, dir: string) =>
    scoreModel({
      dir,
      name,
      suite: 'persona:forget10',
      data: dataDir,
      retain,
      metrics,
      evalDir: join(o.out, 'eval'),
      holdout,
      cacheDir: o.cacheDir,
      relearn: PERSONA_RELEARN,
    });
  const rows = [
    { name: 'target (before)', metrics: await score('target', join(runDir, 'target')) },
    {
      name: `${recipe.method} (after)`,
      metrics: await score('unlearned', out),
      seconds: res.seconds,
      parametersChanged: res.parametersChanged,
      parametersTotal: res.parametersTotal,
    },
    { name: 'retain-forget10 (gold standard)', metrics: await score('retain', retain) },
  ];
  const table = formatTable(rows, PERSONA_COLUMNS);
  writeFileSync(join(o.out, 'erasure.md'), table + '\n');
  o.log(
    "\nBefore and after the erasure (P = mean probability of the true answer; forget quality = KS-test p-value of truth ratios against the retain model, higher is closer; forget P relearned = forget P after a 10-step relearning attack, lr 1e-3, on the people's biographies):\n" +
      table,
  );
}
