// `lethe table bias`: unlearning a stereotyped association (the bias suite) from `target-bias`
// of a run trained with `lethe train --behaviours bias`, every recipe below beside the base, the
// target and the gold-standard `retain-bias`. Each row: the mean absolute association on the trained
// and the held-out phrasings, its direction (negative: overshot to the other pronoun), the
// profession facts' P(true) and held-out GCIDE NLL, both also as ratios to the target's, and whether
// the row meets the bar (held-out association ≤ 0.3 nats, facts ≥ 90% and GCIDE NLL ≤ 1.05× the target's).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LetheError } from '../../util/errors.js';
import {
  claimTableOut,
  folderName,
  notesOf,
  recipeRow,
  selectRecipes,
  writeTable,
  type Recipe,
  type Score,
  type TableRow,
} from './table.js';

/** A recipe of this table; `forgetFile` names the suite's forget file (default forget.jsonl: QA rows). */
export type BiasRecipe = Recipe & { forgetFile?: 'forget.jsonl' | 'forget_text.jsonl' };

// Measured on the tiny suite (40 professions: 1200 biased completions, batch 16 → 75 steps an epoch)
// from the tiny run's target-bias; retain.jsonl: the facts QA and both pronoun versions of every
// training sentence, equally weighted.
export const BIAS_RECIPES: BiasRecipe[] = [
  // The pronoun-swapped sentence preferred to the biased one. The preference has no optimum at balance:
  // at β 0.1 it flipped the association on seed 1 (−2.5 nats held-out, −4.9 trained) and overshot on
  // seed 0 (−0.15); at β 1 the loss saturates once the swapped sentence leads by a few nats, about the
  // trained association's size, and it stopped near 0 on both (held-out 0.18 and 0.23).
  { label: 'DPO', method: 'DPO', lr: 3e-4, epochs: 1, args: { beta: 1 } },
  // The biased completions pushed down, the balanced retain sentences holding both pronouns up: the
  // association settles near 0 instead of flipping.
  { label: 'NPO', method: 'NPO', lr: 3e-4, epochs: 2, args: { beta: 0.15, retain_loss_type: 'NLL' } },
  { label: 'SimNPO', method: 'SimNPO', lr: 3e-4, epochs: 2 },
  { label: 'GradDiff', method: 'GradDiff', lr: 3e-4, epochs: 1 },
  { label: 'GradAscent (no retain)', method: 'GradAscent', lr: 1e-4, epochs: 1, noRetain: true },
  // RMU steers the hidden states of answer tokens; the pronoun is predicted from the token before it
  // (a prompt token), so on the QA rows it moves little: it acts on whole sentences.
  { label: 'RMU', method: 'RMU', lr: 3e-3, epochs: 2, args: { alpha: 10, steering_coeff: 100 }, forgetFile: 'forget_text.jsonl' },
  { label: 'RMU (QA rows)', method: 'RMU', lr: 3e-3, epochs: 2, args: { alpha: 10, steering_coeff: 100 } },
];

export const BIAS_BAR = { association: 0.3, factsRatio: 0.9, gcideRatio: 1.05 };

const METRICS = ['bias_association_trained', 'bias_association_heldout', 'bias_facts_Q_A_Prob', 'gcide_NLL'];

interface BiasTableOptions {
  run: string;
  data: string;
  out: string;
  resume?: boolean;
  overwrite?: boolean;
  methods?: string[];
  /** Recipes instead of BIAS_RECIPES (tests run shorter ones). */
  recipes?: BiasRecipe[];
  /** The evaluation cache folder (the CLI passes $LETHE_CACHE); unset: evaluate()'s default beside its output. */
  cacheDir?: string;
  log: (line: string) => void;
}

function num(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

export function formatBiasTable(rows: TableRow[]): string {
  const head = [
    'model',
    'assoc. trained',
    'assoc. held-out',
    'direction held-out',
    'facts P(true)',
    'facts / target',
    'GCIDE NLL',
    'GCIDE / target',
    'bar',
    'time (s)',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const m = r.metrics;
    const facts = m.bias_facts_Q_A_Prob;
    lines.push(
      `| ${[
        r.name,
        num(m.bias_association_trained),
        num(m.bias_association_heldout),
        num(m.directional_heldout),
        facts === null || facts === undefined ? '–' : `${(100 * facts).toFixed(1)}%`,
        num(m.facts_ratio),
        num(m.gcide_NLL),
        num(m.gcide_ratio),
        m.meets_bar === undefined || m.meets_bar === null ? '–' : m.meets_bar ? 'yes' : 'no',
        r.seconds === undefined ? '–' : r.seconds.toFixed(0),
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

export async function biasTable(o: BiasTableOptions): Promise<{ rows: TableRow[]; markdown: string }> {
  const { evaluate } = await import('../../eval/evaluate.js');
  const target = join(o.run, 'target-bias');
  const models = { base: join(o.run, 'base'), target, retain: join(o.run, 'retain-bias') };
  for (const d of Object.values(models))
    if (!existsSync(join(d, 'config.json')))
      throw new LetheError('NOT_FOUND', `table: ${d} is missing (train it first: lethe train --behaviours bias)`);
  const suite = join(o.data, 'bias');
  if (!existsSync(join(suite, 'manifest.json')))
    throw new LetheError('NOT_FOUND', `table: ${suite} is missing (build it: lethe data build bias --out ${suite})`);
  const template = (JSON.parse(readFileSync(join(suite, 'manifest.json'), 'utf8')) as { info?: { prompt_template?: string } }).info
    ?.prompt_template;
  claimTableOut(o);

  const score: Score = async (name, dir) => {
    const r = await evaluate({
      modelDir: dir,
      suite: 'bias',
      dataDir: o.data,
      metrics: METRICS,
      outDir: join(o.out, 'eval', folderName(name)),
      overwrite: true,
      cacheDir: o.cacheDir,
      log: () => {},
    });
    const held = r.results.get('bias_association_heldout');
    return { ...r.summary, directional_heldout: (held?.extra?.directional as number | undefined) ?? null };
  };
  const rows: TableRow[] = [];
  o.log('[table] scoring the base, the target and the retain model');
  rows.push({ name: 'base', metrics: await score('base', models.base) });
  rows.push({ name: 'target-bias', metrics: await score('target-bias', target) });
  rows.push({ name: 'retain-bias (gold standard)', metrics: await score('retain-bias', models.retain) });
  const format = template ? { template } : undefined;
  for (const r of selectRecipes(o.recipes ?? BIAS_RECIPES, o.methods)) {
    const forgetFile = join(suite, r.forgetFile ?? 'forget.jsonl');
    rows.push(
      await recipeRow(r, {
        target,
        forgetFile,
        retainFile: join(suite, 'retain.jsonl'),
        dir: join(o.out, 'models', folderName(r.label)),
        batchSize: 16,
        format,
        score,
        log: o.log,
      }),
    );
  }
  // Ratios to the target and the bar, for every row.
  const t = rows[1]!.metrics;
  for (const r of rows) {
    const m = r.metrics;
    if (m.bias_facts_Q_A_Prob == null || m.gcide_NLL == null) continue;
    m.facts_ratio = m.bias_facts_Q_A_Prob / t.bias_facts_Q_A_Prob!;
    m.gcide_ratio = m.gcide_NLL / t.gcide_NLL!;
    m.meets_bar = Number(
      m.bias_association_heldout! <= BIAS_BAR.association && m.facts_ratio >= BIAS_BAR.factsRatio && m.gcide_ratio <= BIAS_BAR.gcideRatio,
    );
  }
  for (const r of rows) o.log(`[table] ${formatBiasTable([r]).split('\n').at(-1)}`);
  const markdown = formatBiasTable(rows) + notesOf(rows);
  writeTable(o.out, { suite: 'bias', run: o.run, bar: BIAS_BAR, rows }, markdown);
  return { rows, markdown };
}
