// Generation with a KV cache: greedy or sampled (temperature, top-k, top-p), batched left-padded
// prompts, EOS and stop strings. Returns prompt + new tokens, [B, T + n], like HF's generate.
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import type { CausalLM } from './model.js';
import type { KVCache } from './cache.js';
import { LetheError } from '../util/errors.js';

export interface GenerateOptions {
  maxNewTokens?: number;
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  /** Stop a row at any of these tokens (default: the config's eos_token_id). */
  eosTokenId?: number | number[];
  /** Fills rows that have stopped (default: pad_token_id, else the first EOS id, else 0). */
  padTokenId?: number;
  /** [B, T] 1/0; prompts must be left-padded. */
  attentionMask?: Tensor;
  /** Stop a row once its generated text ends with one of these (needs `decode`). */
  stopStrings?: string[];
  decode?: (ids: number[]) => Promise<string> | string;
  /** Recompute everything at each step instead of caching keys and values (for checks and timing). */
  useCache?: boolean;
}

/** Next-token choice from the last position's logits [B, V]. */
function pick(logits: Tensor, o: GenerateOptions): Tensor {
  if (!o.doSample) return logits.argmax(-1);
  let scores = logits.to('float32');
  const temperature = o.temperature ?? 1;
  if (!(temperature > 0)) throw new LetheError('BAD_INPUT', `generate: temperature must be > 0, got ${temperature}`);
  if (temperature !== 1) scores = scores.div(temperature);
  if (o.topK && o.topK > 0) {
    const k = Math.min(o.topK, scores.size(-1));
    const kth = torch.topk(scores, k, -1).values.narrow(-1, k - 1, 1); // [B, 1]
    scores = scores.maskedFill(scores.lt(kth), -Infinity);
  }
  if (o.topP !== undefined && o.topP < 1) {
    // As HF's TopPLogitsWarper: drop the smallest tokens whose total probability stays under 1 - p.
    const { values, indices } = torch.sort(scores, -1, false);
    const cum = torch.softmax(values, -1).cumsum(-1);
    const v = scores.size(-1);
    const remove = cum.le(1 - o.topP).logicalAnd(torch.arange(v).lt(v - 1)); // always keep the most likely
    scores = scores.maskedFill(torch.zerosLike(remove).scatter(-1, indices, remove), -Infinity);
  }
  return torch.multinomial(torch.softmax(scores, -1), 1).squeeze(-1);
}

export async function generate(model: CausalLM, inputIds: Tensor, options: GenerateOptions = {}): Promise<Tensor> {
  const maxNew = options.maxNewTokens ?? 20;
  if (!(Number.isInteger(maxNew) && maxNew >= 0))
    throw new LetheError('BAD_INPUT', `generate: maxNewTokens must be an integer >= 0, got ${maxNew}`);
  if (inputIds.ndim !== 2) throw new LetheError('BAD_INPUT', `generate: inputIds must be [batch, seq], got [${inputIds.shape}]`);
  if (options.stopStrings?.length && !options.decode)
    throw new LetheError('BAD_INPUT', 'generate: stopStrings need a decode function (e.g. tokenizer.decode)');
  const eos = options.eosTokenId === undefined ? model.config.eosTokenId : [options.eosTokenId].flat();
  const pad = options.padTokenId ?? model.config.padTokenId ?? eos[0] ?? 0;
  const useCache = options.useCache ?? true;
  const batch = inputIds.size(0);
  const device = model.device as torch.Device;

  let seq = torch.keep(inputIds.to({ dtype: 'int64', device, copy: true }));
  let mask = torch.keep(options.attentionMask ? options.attentionMask.to({ dtype: 'int64', device, copy: true }) : torch.onesLike(seq));
  const finished = new Array<boolean>(batch).fill(false);
  const generated: number[][] = Array.from({ length: batch }, () => []);
  let cache: KVCache | null = null;
  // Positions as HF derives them for left padding: cumsum(mask) - 1, pads at 1.
  let positions = torch.keep(torch.tidy(() => mask.cumsum(-1).sub(1).maskedFill(mask.eq(0), 1)));
  try {
    for (let step = 0; step < maxNew && !finished.every(Boolean); step++) {
      const next = torch.noGrad(() =>
        torch.tidy(() => {
          let logits: Tensor;
          if (!useCache) {
            logits = model.forward(seq, { attentionMask: mask, positionIds: positions }).logits;
          } else if (!cache) {
            const out = model.forward(seq, { attentionMask: mask, positionIds: positions, useCache: true });
            cache = out.pastKeyValues!.keep();
            logits = out.logits;
          } else {
            const last = seq.narrow(1, seq.size(1) - 1, 1);
            const pos = positions.narrow(1, positions.size(1) - 1, 1);
            const out = model.forward(last, { attentionMask: mask, positionIds: pos, pastKeyValues: cache, useCache: true });
            cache.dispose();
            cache = out.pastKeyValues!.keep();
            logits = out.logits;
          }
          return pick(logits.select(1, logits.size(1) - 1), options).toArray() as number[];
        }),
      );
      for (let b = 0; b < batch; b++) {
        if (finished[b]) next[b] = pad;
        else {
          generated[b]!.push(next[b]!);
          if (eos.includes(next[b]!)) finished[b] = true;
        }
      }
      const grown = torch.tidy(() => {
        const nextT = torch.tensor([next], { dtype: 'int64', device }).t(); // [B, 1]
        return {
          seq: torch.cat([seq, nextT], 1),
          mask: torch.cat([mask, torch.onesLike(nextT)], 1),
          positions: torch.cat([positions, positions.narrow(1, positions.size(1) - 1, 1).add(1)], 1),
        };
      });
      torch.dispose([seq, mask, positions]);
      seq = torch.keep(grown.seq);
      mask = torch.keep(grown.mask);
      positions = torch.keep(grown.positions);
      if (options.stopStrings?.length) {
        for (let b = 0; b < batch; b++) {
          if (finished[b]) continue;
          const text = await options.decode!(generated[b]!);
          if (options.stopStrings.some((s) => text.endsWith(s))) finished[b] = true;
        }
      }
    }
  } finally {
    (cache as KVCache | null)?.dispose();
    torch.dispose([mask, positions]);
  }
  seq.kept = false;
  return seq;
}
