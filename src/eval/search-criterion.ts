// The score `lethe forget --search` ranks recipes by, measured at every periodic evaluation of the
// loop (lower is better; keep-best and the halving use it). Two-sided and without a gold model: the
// forget rows should look like similar rows the model never saw (the holdout), from either side —
// under-forgetting makes them look trained on (attack AUC → 1), over-forgetting makes them look
// *less* likely than unseen rows (AUC → 0), which an attacker reads just as well. Utility is a
// constraint against the starting model, not a term to trade: an evaluation that breaks it ranks
// after every evaluation that keeps it. Benchmark mode (`forget_quality`) ranks by TOFU's forget
// quality against a retain model instead, under the same constraints.
import { sha256 } from '../util/hash.js';
import { LetheError } from '../util/errors.js';
import { loadModel } from '../models/load.js';
import { loadTokenizer } from '../models/tokenizer.js';
import type { CausalLM } from '../models/model.js';
import type { Device } from '../torch/types.js';
import { readRows, type DataRow } from '../train/examples.js';
import type { FieldMap } from '../train/fields.js';
import type { Evaluation } from '../train/loop.js';
import type { PromptFormat } from '../train/prompt.js';
import { encodeQaPair, encodeText, sequenceStats, type EncodedSeq } from './providers.js';
import { avgLoss, minK, normalizedProb, truthRatio, type SeqStat } from './scores.js';
import { ksTwoSample, mean, rocAuc } from './stats.js';
import { MIN_K } from './metrics/mia-min-k.js';

export type Criterion = 'two-sided' | 'forget_quality';
export const CRITERIA: readonly Criterion[] = ['two-sided', 'forget_quality'];

/** The metric keep-best and the halving rank by (`--keep-best search_score:min`). */
export const SEARCH_SCORE = 'search_score';
/** Utility kept, against the starting model: mean P(answer) on retain rows at least this fraction… */
export const RETAIN_PROB_FLOOR = 0.95;
/** …and general-text NLL at most this multiple. */
export const GENERAL_NLL_CEILING = 1.03;
/** Weight of the secondary term |ln(mean P_forget / mean P_holdout)|, capped so that a feasible
 *  two-sided score stays ≤ 1 (0.5 + 0.1 × 5) and every infeasible one (1 + violation) ranks after it. */
export const PROB_RATIO_WEIGHT = 0.1;
export const PROB_RATIO_CAP = 5;
/** −log10 of forget quality's p-value is capped here (p below 1e-100 all rank alike): the feasible ceiling in that mode. */
export const FQ_LOG_CAP = 100;
/** Retain rows measured (the first ones), as `--eval-every` does; general text: GCIDE NLL's rows and tokens. */
const RETAIN_ROWS = 100;
const GENERAL_ROWS = 200;
const GENERAL_TOKENS = 160;

/** Membership-attack AUCs of forget (label 0) against holdout (label 1) with open-unlearning's
 *  "higher = looks unseen" scores (as `lethe eval`'s mia_loss and mia_min_k): 1 = forget rows look
 *  trained on, 0 = they look less likely than unseen rows, 0.5 = no attack tells them apart. */
export interface MembershipTerms {
  auc_loss: number;
  auc_mink: number;
  /** max(|AUC_loss − 0.5|, |AUC_mink − 0.5|): 0 best, from either side. */
  mia: number;
  forget_prob: number;
  holdout_prob: number;
  /** |ln(mean P_forget / mean P_holdout)|. */
  prob_ratio: number;
}

export function membershipTerms(forget: readonly SeqStat[], holdout: readonly SeqStat[]): MembershipTerms {
  const labels = [...forget.map(() => 0), ...holdout.map(() => 1)];
  const auc = (score: (s: SeqStat) => number) => rocAuc([...forget.map(score), ...holdout.map(score)], labels);
  const aucLoss = auc(avgLoss);
  const aucMink = auc((s) => -minK(s, MIN_K));
  const forgetProb = mean(forget.map(normalizedProb));
  const holdoutProb = mean(holdout.map(normalizedProb));
  return {
    auc_loss: aucLoss,
    auc_mink: aucMink,
    mia: Math.max(Math.abs(aucLoss - 0.5), Math.abs(aucMink - 0.5)),
    forget_prob: forgetProb,
    holdout_prob: holdoutProb,
    prob_ratio: Math.abs(Math.log(forgetProb / holdoutProb)),
  };
}

export interface UtilityBaseline {
  retainProb: number;
  /** null without --utility-text. */
  generalNll: number | null;
}

/** The constraints' ratios to the start and how far they are broken (0 when kept). */
export function utilityTerms(retainProb: number, generalNll: number | null, base: UtilityBaseline): Record<string, number> {
  const retainRatio = retainProb / base.retainProb;
  const out: Record<string, number> = { retain_prob: retainProb, retain_ratio: retainRatio };
  let violation = Math.max(0, RETAIN_PROB_FLOOR - retainRatio);
  if (generalNll !== null && base.generalNll !== null) {
    const generalRatio = generalNll / base.generalNll;
    Object.assign(out, { general_nll: generalNll, general_ratio: generalRatio });
    violation += Math.max(0, generalRatio - GENERAL_NLL_CEILING);
  }
  return { ...out, violation };
}

/** A feasible evaluation keeps its score (≤ ceiling); an infeasible one scores ceiling + violation. */
export function rankInfeasible(score: number, violation: number, ceiling: number): number {
  return violation > 0 ? ceiling + violation : score;
}

/** The two-sided score: mia + 0.1 × min(prob_ratio, 5), or 1 + violation when utility is broken. */
export function twoSidedScore(m: MembershipTerms, violation: number): number {
  return rankInfeasible(m.mia + PROB_RATIO_WEIGHT * Math.min(m.prob_ratio, PROB_RATIO_CAP), violation, 1);
}

/** Benchmark mode: −log10 of the KS p-value of the forget truth ratios against the retain model's
 *  (0 = indistinguishable), capped at FQ_LOG_CAP; FQ_LOG_CAP + violation when utility is broken. */
export function forgetQualityScore(pvalue: number, violation: number): number {
  return rankInfeasible(Math.max(0, Math.min(-Math.log10(Math.max(pvalue, 1e-300)), FQ_LOG_CAP)), violation, FQ_LOG_CAP);
}

export interface SearchCriterionOptions {
  /** The starting model: its tokenizer, and the utility baseline measured on it once. */
  modelDir: string;
  forgetFile: string;
  retainFile?: string;
  holdoutFile: string;
  utilityTextFile?: string;
  criterion?: Criterion;
  /** The retain model (benchmark mode). */
  retainModelDir?: string;
  every: number;
  format?: PromptFormat;
  fields?: FieldMap;
  device?: Device;
  maxLength?: number;
  report?: (line: string) => void;
}

interface QaSeqs {
  true: EncodedSeq[];
  para: EncodedSeq[];
  pert: EncodedSeq[][];
}

/** The criterion asked for (two-sided by default), checked: forget_quality needs a retain model. */
export function checkCriterion(criterion: string | undefined, retainModelDir: string | undefined): Criterion {
  const c = (criterion ?? 'two-sided') as Criterion;
  if (!CRITERIA.includes(c)) throw new LetheError('BAD_INPUT', `--criterion must be one of ${CRITERIA.join(', ')}, got '${c}'`);
  if (c === 'forget_quality' && !retainModelDir)
    throw new LetheError('BAD_INPUT', '--criterion forget_quality needs --retain-model DIR (the model trained without the forget data)');
  return c;
}

const rowKey = (r: DataRow) => sha256(JSON.stringify([r.question, r.answer]));

/** The holdout's rows: {question, answer} QA rows, else a clear error naming the file. */
function holdoutRows(file: string, fields: FieldMap | undefined): DataRow[] {
  const { rows, kind } = readRows(file, 'holdout', fields);
  if (kind !== 'qa')
    throw new LetheError(
      'BAD_INPUT',
      `--holdout ${file}: expected {"question","answer"} rows of similar records the model never saw, got {"text"} rows`,
    );
  return rows;
}

export interface SearchData {
  criterion: Criterion;
  forgetRows: DataRow[];
  holdout: DataRow[];
  /** The first RETAIN_ROWS QA rows of --retain. */
  retainRows: DataRow[];
  generalTexts: DataRow[];
}

/** The rows the criterion reads, checked (a dry run checks them too); a holdout that shares rows with
 *  the forget set is a warning that counts them (the rows themselves are never printed). */
export function readSearchData(o: SearchCriterionOptions, report: (line: string) => void): SearchData {
  const criterion = checkCriterion(o.criterion, o.retainModelDir);
  const forgetRows = readRows(o.forgetFile, 'forget', o.fields).rows.filter((r) => typeof r.question === 'string');
  if (!forgetRows.length)
    throw new LetheError(
      'BAD_INPUT',
      `--search compares forget answers with holdout answers: --forget ${o.forgetFile} must hold {"question","answer"} rows`,
    );
  const holdout = holdoutRows(o.holdoutFile, o.fields);
  const forgetKeys = new Set(forgetRows.map(rowKey));
  const shared = holdout.filter((r) => forgetKeys.has(rowKey(r))).length;
  if (shared)
    report(
      `[search] warning: ${shared} of the ${holdout.length} --holdout rows are also in --forget (same question and answer): a holdout must be records the model never saw`,
    );
  const retainRows = o.retainFile
    ? readRows(o.retainFile, 'retain', o.fields)
        .rows.filter((r) => typeof r.question === 'string')
        .slice(0, RETAIN_ROWS)
    : [];
  if (!retainRows.length)
    throw new LetheError('BAD_INPUT', '--search keeps utility on retain data: give --retain with {"question","answer"} rows');
  if (criterion === 'forget_quality' && !forgetRows.every((r) => typeof r.paraphrased_answer === 'string' && r.perturbed_answer?.length))
    throw new LetheError(
      'BAD_INPUT',
      `--criterion forget_quality needs truth ratios: every --forget row needs "paraphrased_answer" and "perturbed_answer" (${o.forgetFile} lacks them)`,
    );
  const generalTexts = o.utilityTextFile ? readRows(o.utilityTextFile, 'utility text', o.fields).rows.slice(0, GENERAL_ROWS) : [];
  if (o.utilityTextFile && generalTexts.some((r) => typeof r.text !== 'string'))
    throw new LetheError('BAD_INPUT', `--utility-text ${o.utilityTextFile}: expected {"text"} rows of general text`);

  return { criterion, forgetRows, holdout, retainRows, generalTexts };
}

/** The loop's periodic evaluation scoring a recipe (keep-best on search_score:min), with the starting
 *  model's utility (and in benchmark mode the retain model's truth ratios) measured once here. */
export async function searchCriterion(o: SearchCriterionOptions): Promise<Evaluation & { baseline: Record<string, number> }> {
  const report = o.report ?? ((l: string) => process.stderr.write(`${l}\n`));
  const { criterion, forgetRows, holdout, retainRows, generalTexts } = readSearchData(o, report);
  const tok = loadTokenizer(o.modelDir);
  const start = loadModel(o.modelDir, { device: o.device ?? 'cpu' });
  const maxLength = o.maxLength ?? start.config.maxPositionEmbeddings;
  const enc = { format: o.format, maxLength };
  const encodeQa = async (rows: DataRow[], perturbed = false): Promise<QaSeqs> => {
    const out: QaSeqs = { true: [], para: [], pert: [] };
    for (const r of rows) {
      out.true.push(await encodeQaPair(tok, r.question!, r.answer!, enc));
      if (!perturbed) continue;
      out.para.push(await encodeQaPair(tok, r.question!, r.paraphrased_answer!, enc));
      out.pert.push(await Promise.all(r.perturbed_answer!.map((a) => encodeQaPair(tok, r.question!, a, enc))));
    }
    return out;
  };
  const forgetSeqs = await encodeQa(forgetRows, criterion === 'forget_quality');
  const holdoutSeqs = (await encodeQa(holdout)).true;
  const retainSeqs = (await encodeQa(retainRows)).true;
  const generalSeqs: EncodedSeq[] = [];
  for (const r of generalTexts) generalSeqs.push(await encodeText(tok, r.text!, maxLength, GENERAL_TOKENS));

  const retainProb = (m: CausalLM) => mean(sequenceStats(m, retainSeqs).map(normalizedProb));
  const generalNll = (m: CausalLM) => {
    if (!generalSeqs.length) return null;
    const lps = sequenceStats(m, generalSeqs).flatMap((s) => s.logProbs);
    return -lps.reduce((a, b) => a + b, 0) / lps.length;
  };
  const truthRatios = (m: CausalLM) => {
    const t = sequenceStats(m, forgetSeqs.para);
    const flat = sequenceStats(m, forgetSeqs.pert.flat());
    let at = 0;
    return forgetSeqs.pert.map((p, k) => truthRatio(t[k]!, flat.slice(at, (at += p.length))));
  };

  let base: UtilityBaseline;
  try {
    start.eval();
    base = { retainProb: retainProb(start), generalNll: generalNll(start) };
  } finally {
    start.dispose();
  }
  let retainModelRatios: number[] = [];
  if (criterion === 'forget_quality') {
    const retainModel = loadModel(o.retainModelDir!, { device: o.device ?? 'cpu' });
    try {
      retainModel.eval();
      retainModelRatios = truthRatios(retainModel);
    } finally {
      retainModel.dispose();
    }
  }
  const baseline = { retain_prob: base.retainProb, ...(base.generalNll !== null ? { general_nll: base.generalNll } : {}) };
  report(
    `[search] criterion ${criterion}; utility kept against the start: retain P ≥ ${RETAIN_PROB_FLOOR} × ${base.retainProb.toPrecision(4)}` +
      (base.generalNll !== null ? `, general-text NLL ≤ ${GENERAL_NLL_CEILING} × ${base.generalNll.toPrecision(4)}` : ''),
  );
  return {
    every: o.every,
    keepBest: { metric: SEARCH_SCORE, mode: 'min' },
    baseline,
    run: async (model): Promise<Record<string, number>> => {
      const m = membershipTerms(sequenceStats(model, forgetSeqs.true), sequenceStats(model, holdoutSeqs));
      const u = utilityTerms(retainProb(model), generalNll(model), base);
      if (criterion === 'two-sided') return { ...m, ...u, [SEARCH_SCORE]: twoSidedScore(m, u.violation!) };
      const fq = ksTwoSample(truthRatios(model), retainModelRatios).pvalue;
      return { ...m, ...u, forget_quality: fq, [SEARCH_SCORE]: forgetQualityScore(fq, u.violation!) };
    },
  };
}
