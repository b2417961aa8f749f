// WHP, "Who's Harry Potter?" (Eldan & Russinovich 2023), the whole method:
//  1. a reinforced model: a copy of the model fine-tuned further on the forget text;
//  2. anchored terms: a user's dictionary (JSON: term → generic translation) or, without one,
//     proposed here: the words of the forget text whose tokens the reinforced model expects most
//     beyond the starting model (and that the retain data does not use), each given a generic
//     replacement of the same kind (a capitalised name, a number, a lower-case word) taken from the
//     words of the retain data, preferring one of the same token length;
//  3. generic labels, per block of text: the reinforced model's logits on the original text and the
//     starting model's on the translated text (anchored terms replaced), aligned back to the
//     original tokens, combined as v_generic = v_base − α·ReLU(v_reinforced − v_base), and the
//     argmax taken as the hard label;
//  4. the model fine-tuned on the original text towards those labels (the one loop, finetuneModel),
//     with retain rows trained on with their own text beside them (what is kept stays), epoch by
//     epoch until the rule of whp-stop.ts says the forget text is predicted much less like the
//     original (not in the paper, which fine-tunes a fixed length: the length that works depends
//     on how strongly the book was memorized; issue 20).
// Alignment, as the paper does with its "inconsistent tokenization": text is cut into segments at
// anchored terms (a term's segment keeps the space before it) and tokenized segment by segment, so
// the segments between terms hold the same tokens in both texts. A token of such a segment is
// labelled from the translated position that predicts the same token; the first token of an
// anchored term from the translated position that predicts the first token of its translation
// (where the starting model says the generic word); further tokens of a term get no label.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import type { CausalLM } from '../../models/model.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { IGNORE_INDEX } from '../../models/loss.js';
import { LetheError, typeOf } from '../../util/errors.js';
import type { DataRow } from '../../train/examples.js';
import type { Example } from '../../train/batches.js';
import { qaPrompt, DEFAULT_QA_TEMPLATE, type PromptFormat } from '../../train/prompt.js';
import { finetuneModel } from '../../train/finetune.js';
import { defineMethod } from '../registry.js';
import { Rng } from '../../data/rng.js';
import { agreementOf, forgotten, greedyNextTokens } from './whp-stop.js';
import { encodeExamples, reinforcedModel, trainingFor } from '../procedures.js';
import type { ProcedureContext } from '../method.js';

/** v_generic = v_base − α·ReLU(v_reinforced − v_base), elementwise (any shape). */
export function genericLogits(base: Tensor, reinforced: Tensor, alpha: number): Tensor {
  return base.sub(torch.relu(reinforced.sub(base)).mul(alpha));
}

export interface Segment {
  /** The original text of the segment. */
  text: string;
  /** Its translation (the same text unless it is an anchored term). */
  translated: string;
  term: boolean;
}

const WORD_CHAR = '[\\p{L}\\p{N}_]';
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Cuts text at whole-word occurrences of the terms (longest first); a term keeps the space before it. */
export function segmentText(text: string, terms: ReadonlyMap<string, string>): Segment[] {
  if (!terms.size) return [{ text, translated: text, term: false }];
  const alternation = [...terms.keys()]
    .sort((a, b) => b.length - a.length || (a < b ? -1 : 1))
    .map(escapeRegex)
    .join('|');
  const re = new RegExp(`(?<!${WORD_CHAR})(?:${alternation})(?!${WORD_CHAR})`, 'gu');
  const out: Segment[] = [];
  let at = 0;
  for (const m of text.matchAll(re)) {
    let start = m.index!;
    const space = start > at && text[start - 1] === ' ';
    if (space) start -= 1;
    if (start > at) out.push({ text: text.slice(at, start), translated: text.slice(at, start), term: false });
    const tr = terms.get(m[0])!;
    out.push({ text: (space ? ' ' : '') + m[0], translated: tr ? (space ? ' ' : '') + tr : '', term: true });
    at = m.index! + m[0].length;
  }
  if (at < text.length) out.push({ text: text.slice(at), translated: text.slice(at), term: false });
  return out;
}

/** A tokenized segment: its original and translated tokens, whether its tokens are trained on. */
export interface TokenSegment {
  /** The segment's original text (for reports). */
  text?: string;
  orig: number[];
  trans: number[];
  term: boolean;
  labelled: boolean;
}

/**
 * For each original position p (predicting original token p+1), the translated position that
 * predicts the corresponding token, or -1 (no label): see the file's comment. Lengths are cut to
 * maxLength on both sides.
 */
export function alignPredictors(
  segments: readonly TokenSegment[],
  maxLength = Infinity,
): { ids: number[]; transIds: number[]; predictor: number[] } {
  const ids: number[] = [];
  const transIds: number[] = [];
  const targetOf: number[] = []; // per original token: translated predictor or -1
  for (const s of segments) {
    const transStart = transIds.length;
    s.orig.forEach((tok, i) => {
      ids.push(tok);
      if (!s.labelled) targetOf.push(-1);
      else if (!s.term) targetOf.push(transStart + i - 1);
      else targetOf.push(i === 0 ? transStart - 1 : -1);
    });
    transIds.push(...s.trans);
    if (!s.term && (s.orig.length !== s.trans.length || s.orig.some((t, i) => t !== s.trans[i])))
      throw new LetheError('INTERNAL', 'alignPredictors: a segment outside the anchored terms differs between the texts');
  }
  const n = Math.min(ids.length, maxLength);
  const tn = Math.min(transIds.length, maxLength);
  const predictor: number[] = [];
  for (let p = 0; p + 1 < n; p++) {
    const q = targetOf[p + 1]!;
    predictor.push(q >= 0 && q < tn ? q : -1);
  }
  return { ids: ids.slice(0, n), transIds: transIds.slice(0, tn), predictor };
}

/** A row as text parts: text rows are one labelled part; QA rows the prompt (not labelled), then the answer. */
function rowParts(row: DataRow, format: PromptFormat | undefined, tok: Tokenizer): { text: string; labelled: boolean }[] {
  if (typeof row.question !== 'string') return [{ text: row.text!, labelled: true }];
  const prompt = qaPrompt(row.question, format ?? {}, tok);
  if (format?.chat)
    return [
      { text: prompt, labelled: false },
      { text: row.answer!, labelled: true },
    ];
  const template = format?.template ?? DEFAULT_QA_TEMPLATE;
  const cut = template.indexOf('{answer}');
  const before = template.slice(0, cut).replace('{question}', row.question);
  return [
    { text: prompt, labelled: false },
    { text: before.slice(prompt.length) + row.answer! + template.slice(cut + '{answer}'.length), labelled: true },
  ];
}

/** A row's segments, tokenized piece by piece, with the tokenizer's leading special tokens and EOS. */
async function tokenSegments(
  tok: Tokenizer,
  row: DataRow,
  terms: ReadonlyMap<string, string>,
  format: PromptFormat | undefined,
): Promise<TokenSegment[]> {
  const lead = await tok.encode('');
  const out: TokenSegment[] = [{ orig: lead, trans: lead, term: false, labelled: false }];
  for (const part of rowParts(row, format, tok)) {
    for (const s of segmentText(part.text, terms)) {
      const orig = await tok.encode(s.text, { addSpecialTokens: false });
      const trans = s.term ? await tok.encode(s.translated, { addSpecialTokens: false }) : orig;
      out.push({ text: s.text, orig, trans, term: s.term, labelled: part.labelled });
    }
  }
  const eos = tok.eosTokenId;
  if (eos !== null) out.push({ orig: [eos], trans: [eos], term: false, labelled: true });
  return out;
}

/** Pads rows of ids into [B, T] (right padding) with the mask. */
function padded(rows: number[][], pad: number, device: torch.Device): { ids: Tensor; mask: Tensor } {
  const len = Math.max(...rows.map((r) => r.length));
  return {
    ids: torch.tensor(
      rows.map((r) => [...r, ...new Array<number>(len - r.length).fill(pad)]),
      { dtype: 'int64', device },
    ),
    mask: torch.tensor(
      rows.map((r) => [...r.map(() => 1), ...new Array<number>(len - r.length).fill(0)]),
      { dtype: 'int64', device },
    ),
  };
}

/** Float32 logits of `model` on rows of ids, row by row [T_i, V] (for one batch; the caller frees them). */
function rowLogits(model: CausalLM, rows: number[][], pad: number, device: torch.Device): Tensor[] {
  return torch.tidy(() =>
    torch.noGrad(() => {
      const { ids, mask } = padded(rows, pad, device);
      const logits = model.forward(ids, { attentionMask: mask }).logits.to('float32');
      return rows.map((r, b) => torch.keep(logits.select(0, b).narrow(0, 0, r.length).contiguous()));
    }),
  );
}

/** The generic-label examples: original ids, labels = argmax of v_generic where aligned, -100 elsewhere. */
export async function genericLabelExamples(o: {
  base: CausalLM;
  reinforced: CausalLM;
  tok: Tokenizer;
  rows: readonly DataRow[];
  terms: ReadonlyMap<string, string>;
  alpha: number;
  format?: PromptFormat;
  maxLength: number;
  device: torch.Device;
  batchSize?: number;
}): Promise<{ examples: Example[]; changed: number; labelled: number }> {
  const aligned = [];
  for (const r of o.rows) aligned.push(alignPredictors(await tokenSegments(o.tok, r, o.terms, o.format), o.maxLength));
  const pad = o.tok.padTokenId;
  const examples: Example[] = [];
  let changed = 0;
  let labelled = 0;
  const bs = o.batchSize ?? 8;
  for (let i = 0; i < aligned.length; i += bs) {
    const chunk = aligned.slice(i, i + bs);
    const reinf = rowLogits(
      o.reinforced,
      chunk.map((a) => a.ids),
      pad,
      o.device,
    );
    const base = rowLogits(
      o.base,
      chunk.map((a) => a.transIds),
      pad,
      o.device,
    );
    try {
      chunk.forEach((a, k) => {
        const labels = new Array<number>(a.ids.length).fill(IGNORE_INDEX);
        if (a.predictor.length) {
          const idx = a.predictor.map((q) => Math.max(q, 0));
          const picks = torch.tidy(() => {
            const vBase = base[k]!.indexSelect(0, torch.tensor(idx, { dtype: 'int64', device: o.device }));
            const vReinf = reinf[k]!.narrow(0, 0, a.predictor.length);
            return genericLogits(vBase, vReinf, o.alpha).argmax(-1).toArray() as number[];
          });
          a.predictor.forEach((q, p) => {
            if (q < 0) return;
            labels[p + 1] = picks[p]!;
            labelled++;
            if (picks[p] !== a.ids[p + 1]) changed++;
          });
        }
        examples.push({ ids: a.ids, labels });
      });
    } finally {
      torch.dispose([...reinf, ...base]);
    }
  }
  return { examples, changed, labelled };
}

/** Reads a dictionary file: a JSON object of anchored term → generic translation. */
export function readDictionary(path: string): Map<string, string> {
  if (!existsSync(path)) throw new LetheError('NOT_FOUND', `WHP: dictionary ${path} does not exist`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    // Not V8's message: it quotes the text, and a dictionary names the subject (its anchored terms).
    const at = /position (\d+)/.exec((err as Error).message);
    throw new LetheError('BAD_INPUT', `WHP: dictionary ${path}: not JSON${at ? ` (at character ${Number(at[1]) + 1})` : ''}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new LetheError('BAD_INPUT', `WHP: dictionary ${path}: expected a JSON object of "anchored term": "generic translation"`);
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string')
      throw new LetheError(
        'BAD_INPUT',
        `WHP: dictionary ${path}: the translation of entry ${Object.keys(raw as object).indexOf(k) + 1} must be a string, got ${typeOf(v)}`,
      );
    if (!k.trim()) throw new LetheError('BAD_INPUT', `WHP: dictionary ${path}: an empty term`);
    out.set(k, v);
  }
  if (!out.size) throw new LetheError('BAD_INPUT', `WHP: dictionary ${path} holds no term`);
  return out;
}

const WORD = /[\p{L}\p{N}][\p{L}\p{N}'’-]*[\p{L}\p{N}]/gu;
type Kind = 'name' | 'number' | 'word';
const kindOf = (w: string): Kind => (/\p{N}/u.test(w) ? 'number' : /^\p{Lu}/u.test(w) ? 'name' : 'word');
const rowText = (r: DataRow) => (typeof r.question === 'string' ? `${r.question} ${r.answer}` : r.text!);

/**
 * Anchored terms proposed from the data: each word of the forget text scored by the summed
 * log-probability its tokens gain from the reinforcement, log p_reinforced − log p_base (on the
 * original text, every occurrence); words the retain data uses are left out; the `count` best
 * with a positive score get a replacement of the same kind from the retain words.
 */
export async function proposeTerms(o: {
  base: CausalLM;
  reinforced: CausalLM;
  tok: Tokenizer;
  forgetRows: readonly DataRow[];
  retainRows: readonly DataRow[];
  count: number;
  format?: PromptFormat;
  maxLength: number;
  device: torch.Device;
}): Promise<{ terms: Map<string, string>; scores: { term: string; score: number }[] }> {
  const retainCounts = new Map<string, number>();
  for (const r of o.retainRows) for (const m of rowText(r).matchAll(WORD)) retainCounts.set(m[0], (retainCounts.get(m[0]) ?? 0) + 1);
  const forgetWords = new Set<string>();
  for (const r of o.forgetRows) for (const m of rowText(r).matchAll(WORD)) forgetWords.add(m[0]);
  const candidates = new Map([...forgetWords].filter((w) => !retainCounts.has(w)).map((w) => [w, w]));
  const score = new Map<string, number>();
  if (candidates.size) {
    const pad = o.tok.padTokenId;
    for (const r of o.forgetRows) {
      const segs = await tokenSegments(o.tok, r, candidates, o.format);
      const { ids } = alignPredictors(segs, o.maxLength);
      const [lr] = rowLogits(o.reinforced, [ids], pad, o.device);
      const [lb] = rowLogits(o.base, [ids], pad, o.device);
      let gain: number[];
      try {
        gain = torch.tidy(() => {
          const next = torch.tensor(ids.slice(1), { dtype: 'int64', device: o.device }).unsqueeze(-1);
          const n = ids.length - 1;
          const pr = torch
            .logSoftmax(lr!.narrow(0, 0, n), -1)
            .gather(1, next)
            .squeeze(-1);
          const pb = torch
            .logSoftmax(lb!.narrow(0, 0, n), -1)
            .gather(1, next)
            .squeeze(-1);
          return pr.sub(pb).toArray() as number[];
        });
      } finally {
        torch.dispose([lr, lb]);
      }
      // Walk the segments: a term's tokens are original positions at..at+len-1, predicted from the position before.
      let at = 0;
      for (const s of segs) {
        if (s.term) {
          const word = (s.text ?? '').trim();
          let g = 0;
          for (let i = 0; i < s.orig.length; i++) if (at + i >= 1 && at + i - 1 < gain.length) g += gain[at + i - 1]!;
          if (candidates.has(word)) score.set(word, (score.get(word) ?? 0) + g);
        }
        at += s.orig.length;
      }
    }
  }
  const ranked = [...score]
    .filter(([, s]) => s > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, o.count);
  // Replacements: retain words of the same kind not in the forget text, the most frequent first, same token length preferred.
  const pool = new Map<Kind, { w: string; n: number; len: number }[]>();
  for (const [w, n] of [...retainCounts]
    .filter(([w]) => !forgetWords.has(w))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 2000)) {
    const k = kindOf(w);
    if (!pool.has(k)) pool.set(k, []);
    pool.get(k)!.push({ w, n, len: (await o.tok.encode(' ' + w, { addSpecialTokens: false })).length });
  }
  const used = new Set<string>();
  const terms = new Map<string, string>();
  for (const [term] of ranked) {
    const len = (await o.tok.encode(' ' + term, { addSpecialTokens: false })).length;
    const choices = (pool.get(kindOf(term)) ?? []).filter((c) => !used.has(c.w));
    if (!choices.length) continue;
    const best = choices.reduce((a, c) => (Math.abs(c.len - len) < Math.abs(a.len - len) ? c : a));
    used.add(best.w);
    terms.set(term, best.w);
  }
  return { terms, scores: ranked.map(([term, s]) => ({ term, score: s })) };
}

const args = z.strictObject({
  alpha: z.number().min(0).default(5).describe('v_generic = v_base − alpha·ReLU(v_reinforced − v_base)'),
  dictionary: z.string().default('').describe('a JSON file of anchored term → generic translation (default: proposed from the data)'),
  auto_terms: z.number().int().min(0).default(20).describe('how many anchored terms to propose when no dictionary is given'),
  reinforce_epochs: z.number().int().positive().default(10).describe('epochs of the reinforcing fine-tune on the forget text'),
  reinforce_lr: z
    .number()
    .min(0)
    .default(0)
    .describe(
      "its learning rate (0: 10× the run's: the reinforced model only has to overfit the forget text, and a stronger one gives more generic labels)",
    ),
  epochs: z
    .number()
    .int()
    .positive()
    .default(20)
    .describe('the most epochs of the fine-tune on generic labels when neither --epochs nor --steps is given; it stops earlier by stop_at'),
  stop_at: z
    .number()
    .min(0)
    .max(1)
    .default(0.5)
    .describe(
      "stop the fine-tune on generic labels once the model's agreement with the original forget text above the labels' is this fraction of the starting model's",
    ),
  retain_mix: z
    .number()
    .min(0)
    .default(3)
    .describe(
      'retain rows (fresh ones each epoch) trained on with their own text beside each forget row in that fine-tune: what is kept stays',
    ),
});

/** WHP's lr for the fine-tune on generic labels (10× for the reinforcing one) and the cap of its
 *  epochs (the stopping rule ends it earlier), when the user gives neither. */
const TRAINING = {
  lr: 1e-4,
  epochs: 20,
  source:
    'at most 20 epochs: it stops by stop_at. Measured here (`node dist/bench/defaults/book.js DEMO WORK` on the seed-7 tiny demo): ' +
    "the Jargon File on the demo's target, 11 epochs: verbatim ROUGE-L 0.177 → 0.094 (never-trained 0.050), kept text 0.91×, GCIDE NLL 1.004×; " +
    "The Devil's Dictionary fine-tuned into that target (verbatim 0.837), 11 epochs: 0.120 (never-trained 0.082), GCIDE 0.80×, " +
    'but the Jargon File kept only 0.45× (retain rows: the Jargon File among all of GCIDE); with the text it was trained on as retain ' +
    '(the Jargon File + its 600 GCIDE rows, `--retain`), 9 epochs: 0.117, the Jargon File 0.88×, GCIDE 1.066×: the kept-text bars are not met there yet. ' +
    'The earlier defaults (lr 1e-4 for both fine-tunes, 3 epochs, no retain rows) left it at 0.512',
};

/** `count` retain rows for epoch `epoch`: consecutive slices of one seeded shuffle, wrapping. */
export function retainSlice<T>(rows: readonly T[], count: number, epoch: number, seed: number): T[] {
  if (!rows.length || count <= 0) return [];
  const order = new Rng(seed).shuffle(rows.map((_, i) => i));
  return Array.from({ length: count }, (_, k) => rows[order[(epoch * count + k) % order.length]!]!);
}

export const WHP = defineMethod({
  name: 'WHP',
  description: "Who's Harry Potter: reinforced model + anchored terms → generic labels, then fine-tune on them",
  args,
  training: TRAINING,
  needs: (a) => ({ retain: a.dictionary ? 'optional' : 'required' }),
  procedure: async (ctx) => {
    const a = ctx.args;
    const t = ctx.training;
    const lr = t.lr ?? TRAINING.lr;
    const dictionary = a.dictionary ? readDictionary(a.dictionary) : null;
    const forgetEx = await encodeExamples(ctx as ProcedureContext<unknown>, ctx.forgetRows);
    const { model: reinforced } = await reinforcedModel(ctx as ProcedureContext<unknown>, forgetEx, {
      epochs: a.reinforce_epochs,
      lr: a.reinforce_lr || 10 * lr,
    });
    let examples: Example[];
    try {
      let terms = dictionary;
      if (!terms) {
        const proposed = await proposeTerms({
          base: ctx.model,
          reinforced,
          tok: ctx.tokenizer,
          forgetRows: ctx.forgetRows,
          retainRows: ctx.retainRows,
          count: a.auto_terms,
          format: t.format,
          maxLength: t.maxLength,
          device: t.device,
        });
        terms = proposed.terms;
        ctx.report(
          `[WHP] anchored terms proposed: ${[...terms].map(([k, v]) => `${k} → ${v}`).join(', ') || '(none: only the reinforcement bootstrapping applies)'}`,
        );
      } else {
        ctx.report(`[WHP] ${terms.size} anchored terms from ${a.dictionary}`);
      }
      const g = await genericLabelExamples({
        base: ctx.model,
        reinforced,
        tok: ctx.tokenizer,
        rows: ctx.forgetRows,
        terms,
        alpha: a.alpha,
        format: t.format,
        maxLength: t.maxLength,
        device: t.device,
        batchSize: t.batchSize,
      });
      examples = g.examples;
      ctx.report(`[WHP] generic labels: ${g.changed} of ${g.labelled} labelled tokens differ from the original text`);
    } finally {
      reinforced.dispose();
    }
    const mixed = async (epoch: number) => [
      ...examples,
      ...(await encodeExamples(
        ctx as ProcedureContext<unknown>,
        retainSlice(ctx.retainRows, Math.round(a.retain_mix * examples.length), epoch, t.seed),
      )),
    ];
    const ft = trainingFor(ctx as ProcedureContext<unknown>, 'generic', { epochs: a.epochs, lr });
    // The user's length: one fine-tune of that length.
    if (t.epochs !== undefined || t.steps !== undefined) {
      await finetuneModel(ctx.model, await mixed(0), ft);
      return;
    }
    // Otherwise epoch by epoch until the model predicts the forget text much less like the original.
    const pad = ctx.tokenizer.padTokenId;
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    const agreement = () => {
      ctx.model.eval();
      const ag = agreementOf(examples, greedyNextTokens(ctx.model, examples, pad, t.device, t.batchSize));
      ctx.model.train();
      ctx.report(
        `[WHP] epoch ${epoch}: the model predicts the original text at ${pct(ag.text)} of ${ag.positions} labelled positions, the generic labels agree with it at ${pct(ag.labels)}`,
      );
      return ag;
    };
    let epoch = 0;
    const start = agreement();
    while (epoch < a.epochs) {
      await finetuneModel(ctx.model, await mixed(epoch), {
        ...ft,
        epochs: 1,
        resume: false,
        outDir: join(ctx.workDir, `generic-${epoch + 1}`),
        save: () => {}, // the weights stay in ctx.model; nothing reads a copy on disk
      });
      epoch++;
      if (forgotten(agreement(), start, a.stop_at)) {
        ctx.report(`[WHP] stopped after epoch ${epoch}: agreement above the labels' at ${a.stop_at} of the start's or less`);
        return;
      }
    }
    ctx.report(`[WHP] stopped at the cap of ${a.epochs} epochs, agreement above the labels' still over ${a.stop_at} of the start's`);
  },
});
