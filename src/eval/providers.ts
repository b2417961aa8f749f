// The expensive work behind every metric, done once per (model, item set) and shared: token statistics
// from one batched forward per group of sequences (answer log-probs, argmax hits, next-token
// distribution moments), greedy generations with the KV cache and left padding, per-sample gradient norms.
import * as torch from '../torch/index.js';
import type { CausalLM } from '../models/model.js';
import type { Tokenizer } from '../models/tokenizer.js';
import { qaPrompt, encodeQa, type PromptFormat } from '../train/prompt.js';
import type { SeqStat } from './scores.js';
import { LetheError } from '../util/errors.js';

/** A tokenised sequence: tokens before promptLength are context, the rest are scored. */
export interface EncodedSeq {
  ids: number[];
  promptLength: number;
  /** The last id is an EOS appended by the encoder (scored, but left out of token-wise scores). */
  eos: boolean;
}

export interface EncodeOptions {
  format?: PromptFormat;
  /** Appended after the answer, as TOFU's collator does and as Lethe trains (default: the tokenizer's EOS; null: none). */
  eosTokenId?: number | null;
  /** Longest sequence kept (default: the model's max positions); longer ones lose their end. */
  maxLength?: number;
}

function finish(ids: number[], promptLength: number, eos: number | null, maxLength: number): EncodedSeq {
  let all = eos === null ? ids : [...ids, eos];
  let withEos = eos !== null;
  if (all.length > maxLength) {
    all = all.slice(0, maxLength);
    withEos = false;
  }
  return { ids: all, promptLength: Math.min(promptLength, Math.max(1, all.length - 1)), eos: withEos };
}

/** A QA pair as the model sees it in training: prompt template (or chat template) + answer + EOS. */
export async function encodeQaPair(
  tok: Tokenizer,
  question: string,
  answer: string,
  o: EncodeOptions & { maxLength: number },
): Promise<EncodedSeq> {
  const { ids, promptLength } = await encodeQa(tok, question, answer, o.format ?? {});
  return finish(ids, promptLength, o.eosTokenId === undefined ? tok.eosTokenId : o.eosTokenId, o.maxLength);
}

/** A plain text, every token scored: BOS (if the tokenizer has one) as context, then the text's tokens. */
export async function encodeText(tok: Tokenizer, text: string, maxLength: number, maxTextTokens = Infinity): Promise<EncodedSeq> {
  const body = (await tok.encode(text)).slice(0, maxTextTokens);
  const bos = tok.bosTokenId;
  const ids = (bos === null ? body : [bos, ...body]).slice(0, maxLength);
  return { ids, promptLength: 1, eos: false };
}

export interface StatsOptions {
  /** Also compute μ and σ² of log p over the vocabulary at each scored position (Min-K%++). */
  vocabStats?: boolean;
  batchSize?: number;
  /** Tokens per batch (batch rows × padded length), to bound the logits' memory. */
  maxBatchTokens?: number;
  progress?: (done: number, total: number) => void;
}

/**
 * Token statistics of every scored position, from batched forwards. Sequences are sorted by length and
 * right-padded (causal attention: padding after a row's tokens cannot change them, positions start at 0).
 */
export function sequenceStats(model: CausalLM, seqs: readonly EncodedSeq[], o: StatsOptions = {}): SeqStat[] {
  const out = new Array<SeqStat>(seqs.length);
  const order = seqs.map((_, k) => k).sort((a, b) => seqs[a]!.ids.length - seqs[b]!.ids.length);
  const maxRows = o.batchSize ?? 32;
  const maxTokens = o.maxBatchTokens ?? 8192;
  const device = model.device as torch.Device;
  let start = 0;
  while (start < order.length) {
    let end = start + 1;
    while (end < order.length && end - start < maxRows && (end - start + 1) * seqs[order[end]!]!.ids.length <= maxTokens) end++;
    const rows = order.slice(start, end).map((k) => seqs[k]!);
    const len = Math.max(...rows.map((r) => r.ids.length));
    if (len < 2) throw new LetheError('BAD_INPUT', 'sequenceStats: every sequence needs at least 2 tokens (context + one scored token)');
    const ids = rows.map((r) => [...r.ids, ...new Array<number>(len - r.ids.length).fill(0)]);
    // The scored positions only (the label at position j is predicted at position j-1): the prompt
    // and the padding never go through the LM head.
    const spans = rows.map((r, b) => ({ at: b * len + r.promptLength - 1, n: r.ids.length - r.promptLength }));
    const positions = spans.flatMap((s) => Array.from({ length: s.n }, (_, k) => s.at + k));
    const got = torch.noGrad(() =>
      torch.tidy(() => {
        const input = torch.tensor(ids, { dtype: 'int64', device });
        const at = torch.tensor(positions, { dtype: 'int64', device });
        const lp = torch.logSoftmax(model.logitsAt(input, at).to('float32'), -1); // [N, V]
        const next = input.reshape([-1]).indexSelect(0, at.add(1)); // [N]
        const picked = lp.gather(1, next.unsqueeze(-1)).squeeze(-1); // [N]
        const hits = lp.argmax(-1).eq(next); // [N]
        let mu: number[] | undefined;
        let sigma2: number[] | undefined;
        if (o.vocabStats) {
          const p = lp.exp();
          const m = p.mul(lp).sum(-1); // [N]
          const s = p.mul(lp.mul(lp)).sum(-1).sub(m.mul(m));
          mu = m.toArray() as number[];
          sigma2 = s.toArray() as number[];
        }
        return { picked: picked.toArray() as number[], hits: hits.toArray() as boolean[], mu, sigma2 };
      }),
    );
    let from = 0;
    rows.forEach((r, b) => {
      const to = from + spans[b]!.n;
      out[order[start + b]!] = {
        logProbs: got.picked.slice(from, to),
        hits: got.hits.slice(from, to).map(Boolean),
        mu: got.mu?.slice(from, to),
        sigma2: got.sigma2?.slice(from, to),
        eos: r.eos,
      };
      from = to;
    });
    start = end;
    o.progress?.(start, order.length);
  }
  return out;
}

export interface GenerateTextOptions {
  maxNewTokens: number;
  batchSize?: number;
  /** Cut each generation at the first of these strings (and stop generating once every row has one). */
  stop?: string[];
  /** Sample at this temperature instead of decoding greedily; torch's generator is seeded once per call. */
  sampling?: { temperature: number; seed: number };
  progress?: (done: number, total: number) => void;
}

/** Greedy continuations of text prompts (left-padded batches, KV cache), decoded and cut at stop strings. */
export async function greedyContinuations(
  model: CausalLM,
  tok: Tokenizer,
  prompts: readonly (string | number[])[],
  o: GenerateTextOptions,
): Promise<string[]> {
  const encoded = await Promise.all(prompts.map(async (p) => (typeof p === 'string' ? tok.encode(p) : p)));
  const maxPos = model.config.maxPositionEmbeddings;
  const order = encoded.map((_, k) => k).sort((a, b) => encoded[a]!.length - encoded[b]!.length);
  const out = new Array<string>(prompts.length);
  const batch = o.batchSize ?? 32;
  const eos = tok.eosTokenId;
  const stop = o.stop ?? [];
  const device = model.device as torch.Device;
  if (o.sampling) torch.manualSeed(o.sampling.seed);
  for (let i = 0; i < order.length; i += batch) {
    const idx = order.slice(i, i + batch);
    const maxNew = Math.max(1, Math.min(o.maxNewTokens, maxPos - 8));
    const rows = idx.map((k) => encoded[k]!.slice(-(maxPos - maxNew)));
    const len = Math.max(1, ...rows.map((r) => r.length));
    const pad = tok.padTokenId;
    const input = torch.tensor(
      rows.map((r) => [...new Array<number>(len - r.length).fill(pad), ...r]),
      { dtype: 'int64', device },
    );
    const mask = torch.tensor(
      rows.map((r) => [...new Array<number>(len - r.length).fill(0), ...new Array<number>(r.length).fill(1)]),
      { dtype: 'int64', device },
    );
    const seqs = await model.generate(input, {
      attentionMask: mask,
      maxNewTokens: Math.min(maxNew, maxPos - len),
      eosTokenId: eos === null ? [] : [eos],
      padTokenId: pad,
      doSample: !!o.sampling,
      temperature: o.sampling?.temperature,
      stopStrings: stop.length ? stop : undefined,
      decode: stop.length ? (ids) => tok.decode(ids, { skipSpecialTokens: true }) : undefined,
    });
    const gen = (seqs.toArray() as number[][]).map((r) => r.slice(len));
    torch.dispose([input, mask, seqs]);
    for (let b = 0; b < idx.length; b++) {
      const ids = gen[b]!;
      const cut = eos === null ? ids : ids.slice(0, ids.includes(eos) ? ids.indexOf(eos) : ids.length);
      let text = await tok.decode(cut, { skipSpecialTokens: true });
      for (const s of stop) if (text.includes(s)) text = text.slice(0, text.indexOf(s));
      out[idx[b]!] = text.trim();
    }
    o.progress?.(Math.min(i + batch, order.length), order.length);
  }
  return out;
}

/** Greedy answers to questions, prompted as in training; cut at the end of the line (template) or EOS (chat). */
export async function greedyAnswers(
  model: CausalLM,
  tok: Tokenizer,
  questions: readonly string[],
  o: { format?: PromptFormat; maxNewTokens: number; batchSize?: number; progress?: (d: number, t: number) => void },
): Promise<string[]> {
  const prompts = questions.map((q) => qaPrompt(q, o.format ?? {}, tok));
  return greedyContinuations(model, tok, prompts, {
    maxNewTokens: o.maxNewTokens,
    batchSize: o.batchSize,
    stop: o.format?.chat ? [] : ['\n'],
    progress: o.progress,
  });
}

/** Sampled answers to questions (same prompt and cut as greedyAnswers), one generation per question. */
export async function sampledAnswers(
  model: CausalLM,
  tok: Tokenizer,
  questions: readonly string[],
  o: { format?: PromptFormat; maxNewTokens: number; temperature: number; seed: number; batchSize?: number },
): Promise<string[]> {
  const prompts = questions.map((q) => qaPrompt(q, o.format ?? {}, tok));
  return greedyContinuations(model, tok, prompts, {
    maxNewTokens: o.maxNewTokens,
    batchSize: o.batchSize,
    stop: o.format?.chat ? [] : ['\n'],
    sampling: { temperature: o.temperature, seed: o.seed },
  });
}

/**
 * Gradient-norm MIA statistic (open-unlearning's mia/gradnorm.py): for each sample, the loss is the
 * mean NLL of its token-wise labels (appended EOS left out), and the value is the mean over parameter
 * tensors of the p-norm of that tensor's gradient.
 */
export function gradientNorms(
  model: CausalLM,
  seqs: readonly EncodedSeq[],
  p: 1 | 2 | typeof Infinity = 2,
  progress?: (d: number, t: number) => void,
): number[] {
  const params = model.parameters().filter((t) => t.requiresGrad);
  if (!params.length) throw new LetheError('BAD_INPUT', 'gradient norms: the model has no parameter that requires grad');
  const device = model.device as torch.Device;
  const out: number[] = [];
  seqs.forEach((s, k) => {
    out.push(
      torch.tidy(() => {
        const input = torch.tensor([s.ids], { dtype: 'int64', device });
        const len = s.ids.length;
        const lp = torch.logSoftmax(
          model
            .forward(input)
            .logits.narrow(1, 0, len - 1)
            .to('float32'),
          -1,
        );
        const picked = lp
          .gather(2, input.narrow(1, 1, len - 1).unsqueeze(-1))
          .squeeze(-1)
          .squeeze(0); // [T-1]
        const from = s.promptLength - 1;
        const to = len - 1 - (s.eos ? 1 : 0);
        if (to <= from) return NaN;
        const loss = picked
          .narrow(0, from, to - from)
          .mean()
          .neg();
        const grads = torch.grad(loss, params, { allowUnused: true });
        const norms = grads
          .filter((g): g is torch.Tensor => g !== null)
          .map((g) => {
            const a = g.abs();
            return p === Infinity ? a.max().item() : p === 1 ? a.sum().item() : a.mul(a).sum().sqrt().item();
          });
        return norms.reduce((x, y) => x + y, 0) / norms.length;
      }),
    );
    progress?.(k + 1, seqs.length);
  });
  return out;
}

/** Sequences in batches of at most maxRows, shortest first, right-padded with 0: each batch's
 *  indices into seqs, its rows, its length and its padded ids. */
function paddedBatches(
  seqs: readonly EncodedSeq[],
  maxRows: number,
  what: string,
): { idx: number[]; rows: EncodedSeq[]; len: number; ids: number[][] }[] {
  const order = seqs.map((_, k) => k).sort((a, b) => seqs[a]!.ids.length - seqs[b]!.ids.length);
  const out: { idx: number[]; rows: EncodedSeq[]; len: number; ids: number[][] }[] = [];
  for (let start = 0; start < order.length; start += maxRows) {
    const idx = order.slice(start, start + maxRows);
    const rows = idx.map((k) => seqs[k]!);
    const len = Math.max(...rows.map((r) => r.ids.length));
    if (len < 2) throw new LetheError('BAD_INPUT', `${what}: every sequence needs at least 2 tokens (context + one scored token)`);
    out.push({ idx, rows, len, ids: rows.map((r) => [...r.ids, ...new Array<number>(len - r.ids.length).fill(0)]) });
  }
  return out;
}

/**
 * The logit lens: for each sequence, the mean log-probability of its scored tokens (EOS included,
 * as `*_Q_A_Prob`) read from every layer: entry l < L is the residual stream entering decoder layer
 * l (0: the embeddings) through the final norm and the LM head; entry L is the model's own output.
 * Batched and right-padded as sequenceStats (padding after a row cannot change it).
 */
export function lensLogProbs(model: CausalLM, seqs: readonly EncodedSeq[], o: { batchSize?: number } = {}): number[][] {
  const out = new Array<number[]>(seqs.length);
  const device = model.device as torch.Device;
  for (const { idx, rows, len, ids } of paddedBatches(seqs, o.batchSize ?? 16, 'lensLogProbs')) {
    const perLayer = torch.noGrad(() =>
      torch.tidy(() => {
        const input = torch.tensor(ids, { dtype: 'int64', device });
        const res = model.forward(input, { outputHiddenStates: true });
        const states = res.hiddenStates!;
        const next = input.narrow(1, 1, len - 1).unsqueeze(-1); // [B, T-1, 1]
        // Every layer's input, then the output logits (the last hidden state is already normed).
        const logits = [...states.slice(0, -1).map((h) => model.lensLogits(h)), res.logits];
        return logits.map(
          (l) =>
            torch
              .logSoftmax(l.narrow(1, 0, len - 1).to('float32'), -1)
              .gather(2, next)
              .squeeze(-1)
              .toArray() as number[][],
        );
      }),
    );
    rows.forEach((r, b) => {
      const from = r.promptLength - 1;
      const to = r.ids.length - 1;
      out[idx[b]!] = perLayer.map((lp) => {
        const scored = lp[b]!.slice(from, to);
        return scored.reduce((a, x) => a + x, 0) / scored.length;
      });
    });
  }
  return out;
}

/**
 * Hidden-state features for the linear probe: per sequence and per layer (the residual stream entering
 * each decoder layer, then the final normed output: L + 1 entries), the mean hidden state over the
 * positions that predict the scored tokens. Float32 vectors of the hidden size, as plain arrays.
 */
export function answerFeatures(model: CausalLM, seqs: readonly EncodedSeq[], o: { batchSize?: number } = {}): number[][][] {
  const out = new Array<number[][]>(seqs.length);
  const device = model.device as torch.Device;
  for (const { idx, rows, len, ids } of paddedBatches(seqs, o.batchSize ?? 16, 'answerFeatures')) {
    // 1 at the positions whose next token is scored: promptLength - 1 … length - 2.
    const weights = rows.map((r) => Array.from({ length: len }, (_, j) => (j >= r.promptLength - 1 && j <= r.ids.length - 2 ? 1 : 0)));
    const feats = torch.noGrad(() =>
      torch.tidy(() => {
        const input = torch.tensor(ids, { dtype: 'int64', device });
        const w = torch.tensor(weights, { dtype: 'float32', device }).unsqueeze(-1); // [B, T, 1]
        const count = w.sum(1); // [B, 1]
        const states = model.forward(input, { outputHiddenStates: true }).hiddenStates!;
        return states.map((h) => h.to('float32').mul(w).sum(1).div(count).toArray() as number[][]); // [B, H] per layer
      }),
    );
    rows.forEach((_, b) => {
      out[idx[b]!] = feats.map((layer) => layer[b]!);
    });
  }
  return out;
}
