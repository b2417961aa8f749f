// Log-likelihood of each choice's continuation given its context, as lm-evaluation-harness's HFLM
// computes it (lm_eval/models/huggingface.py: _encode_pair, _loglikelihood_tokens):
//  - trailing whitespace of the context moves to the continuation ("Answer: " + "x" → "Answer:" + " x");
//  - continuation tokens = encode(context + continuation)[len(encode(context)):], so a merge across
//    the boundary is scored as the continuation's;
//  - the context starts with the tokenizer's BOS when it has one (HFLM with add_bos_token; Lethe
//    trains that way), else an empty context is the EOS token alone (lm-eval's prefix token);
//  - a request longer than the model keeps its last max_length + 1 tokens (the context loses its
//    start) and the model reads all but the last.
// All choices of an item run together: the tokens their inputs share (the context, usually) go through
// the model once with the KV cache, then the rest of every choice in one right-padded batch over that
// cache. Right padding after a row's tokens cannot change them (causal attention).
import * as torch from '../../torch/index.js';
import type { CausalLM } from '../../models/model.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { KVCache } from '../../models/cache.js';
import type { McItem } from './formats.js';
import { LetheError } from '../../util/errors.js';

export interface EncodedRequest {
  context: number[];
  continuation: number[];
}

/** lm-eval's _encode_pair, plus the BOS / prefix token. */
export async function encodeRequest(tok: Tokenizer, context: string, continuation: string): Promise<EncodedRequest> {
  const stripped = context.replace(/\s+$/u, '');
  const moved = context.slice(stripped.length) + continuation;
  const whole = await tok.encode(stripped + moved, { addSpecialTokens: false });
  const ctx = stripped ? await tok.encode(stripped, { addSpecialTokens: false }) : [];
  const cont = whole.slice(ctx.length);
  if (!cont.length)
    throw new LetheError(
      'BAD_INPUT',
      `a continuation of ${continuation.length} characters encodes to no tokens after its context (of ${context.length} characters)`,
    );
  const bos = tok.bosTokenId;
  if (bos !== null) return { context: [bos, ...ctx], continuation: cont };
  if (ctx.length) return { context: ctx, continuation: cont };
  const eos = tok.eosTokenId;
  if (eos === null)
    throw new LetheError('BAD_INPUT', 'an empty context needs a BOS or EOS token to condition on, and this tokenizer has neither');
  return { context: [eos], continuation: cont };
}

export interface ChoiceScores {
  /** Sum of log p(continuation token | everything before), per choice. */
  loglikelihoods: number[];
  /** Whether every continuation token was the model's argmax (lm-eval's is_greedy), per choice. */
  greedy: boolean[];
  /** Continuation tokens per choice. */
  tokens: number[];
  /** Context tokens dropped from the left to fit the model, per choice. */
  truncated: number[];
}

export interface ScoreOptions {
  /** Most positions the model reads (default: its max_position_embeddings). */
  maxLength?: number;
  progress?: (done: number, total: number) => void;
}

function commonPrefix(rows: number[][], cap: number): number {
  let n = 0;
  while (n < cap && rows.every((r) => r[n] === rows[0]![n])) n++;
  return n;
}

/** Scores one item's requests: one forward over the shared prefix, one batched over the rest. */
export function scoreRequests(model: CausalLM, reqs: readonly EncodedRequest[], maxLength: number): ChoiceScores {
  const device = model.device as torch.Device;
  const rows = reqs.map((r) => {
    if (r.continuation.length > maxLength)
      throw new LetheError(
        'BAD_INPUT',
        `a continuation of ${r.continuation.length} tokens does not fit the model's ${maxLength} positions`,
      );
    const all = [...r.context, ...r.continuation];
    const kept = all.slice(-(maxLength + 1));
    return {
      input: kept.slice(0, -1),
      cont: r.continuation,
      first: kept.length - 1 - r.continuation.length,
      truncated: all.length - kept.length,
    };
  });
  // The input that every row shares, up to each row's first scored logit (exclusive): its logits are not needed.
  const shared = commonPrefix(
    rows.map((r) => r.input),
    Math.min(...rows.map((r) => r.first)),
  );
  const out = torch.noGrad(() =>
    torch.tidy(() => {
      let past: KVCache | undefined;
      if (shared > 0) {
        const pre = model.forward(torch.tensor([rows[0]!.input.slice(0, shared)], { dtype: 'int64', device }), { useCache: true })
          .pastKeyValues!;
        past = new KVCache(
          pre.layers.map((l) => ({
            k: l.k.expand([rows.length, ...l.k.shape.slice(1)]),
            v: l.v.expand([rows.length, ...l.v.shape.slice(1)]),
          })),
        );
      }
      const len = Math.max(...rows.map((r) => r.input.length)) - shared;
      const ids = rows.map((r) => [...r.input.slice(shared), ...new Array<number>(len - (r.input.length - shared)).fill(0)]);
      const input = torch.tensor(ids, { dtype: 'int64', device });
      const logits = model.forward(input, past ? { pastKeyValues: past } : {}).logits; // [B, len, V]
      const lp = torch.logSoftmax(logits.to('float32'), -1);
      // Row b's continuation token t (0-based) is predicted at input position first + t, i.e. suffix position first + t - shared.
      const span = Math.max(...rows.map((r) => r.cont.length));
      const starts = rows.map((r) => r.first - shared);
      const idx = rows.map((r, b) =>
        Array.from({ length: span }, (_, t) => Math.min(starts[b]! + Math.min(t, r.cont.length - 1), len - 1)),
      );
      const pos = torch.tensor(idx, { dtype: 'int64', device }); // [B, span]
      const picked = lp.gather(1, pos.unsqueeze(-1).expand([rows.length, span, lp.size(2)])); // [B, span, V]
      const targets = torch.tensor(
        rows.map((r) => Array.from({ length: span }, (_, t) => r.cont[Math.min(t, r.cont.length - 1)]!)),
        { dtype: 'int64', device },
      );
      const tokenLp = picked.gather(2, targets.unsqueeze(-1)).squeeze(-1); // [B, span]
      const hits = picked.argmax(-1).eq(targets); // [B, span]
      return { lp: tokenLp.to('float64').toArray() as number[][], hits: hits.toArray() as boolean[][] };
    }),
  );
  return {
    loglikelihoods: rows.map((r, b) => out.lp[b]!.slice(0, r.cont.length).reduce((s, x) => s + x, 0)),
    greedy: rows.map((r, b) => out.hits[b]!.slice(0, r.cont.length).every(Boolean)),
    tokens: rows.map((r) => r.cont.length),
    truncated: rows.map((r) => r.truncated),
  };
}

/** Every item's choice scores. */
export async function scoreItems(model: CausalLM, tok: Tokenizer, items: readonly McItem[], o: ScoreOptions = {}): Promise<ChoiceScores[]> {
  const maxLength = o.maxLength ?? model.config.maxPositionEmbeddings;
  const out: ChoiceScores[] = [];
  for (const [k, it] of items.entries()) {
    const contexts = it.contexts ?? it.continuations.map(() => it.context ?? '');
    const reqs = await Promise.all(it.continuations.map((c, i) => encodeRequest(tok, contexts[i]!, c)));
    out.push(scoreRequests(model, reqs, maxLength));
    o.progress?.(k + 1, items.length);
  }
  return out;
}

/** acc and acc_norm of one item, as lm-eval's process_results for multiple_choice (argmax: first maximum). */
export function decide(lls: readonly number[], choices: readonly string[]): { pred: number; predNorm: number; normalized: number[] } {
  const argmax = (xs: readonly number[]) => xs.reduce((best, x, i) => (x > xs[best]! ? i : best), 0);
  // completion_len = len(choice): characters (Unicode code points, as Python counts them), not bytes.
  const normalized = lls.map((ll, i) => ll / [...choices[i]!].length);
  return { pred: argmax(lls), predNorm: argmax(normalized), normalized };
}
