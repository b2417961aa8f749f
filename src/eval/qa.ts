// Question answering probes, as TOFU defines them: the probability of the true answer given the
// question (length-normalised: exp of the mean token log-likelihood), and ROUGE-L recall of the
// greedy answer against the true one.
import * as torch from '../torch/index.js';
import type { CausalLM } from '../models/model.js';
import type { Tokenizer } from '../models/tokenizer.js';
import { labelLogProbs, IGNORE_INDEX } from '../models/loss.js';
import { rougeL } from './rouge.js';
import { qaPrompt, encodeQa, type PromptFormat } from '../train/prompt.js';

export interface QaItem {
  question: string;
  answer: string;
}

export interface QaScore {
  probability: number;
  rougeLRecall: number;
  generated: string;
}

export { qaPrompt, encodeQa } from '../train/prompt.js';

/** exp(mean log p(answer token | ...)) per item; with `includeEos` the EOS after the answer counts
 *  as an answer token, as in the evaluator's `*_Q_A_Prob` (TOFU's definition). */
export async function answerProbabilities(
  model: CausalLM,
  tok: Tokenizer,
  items: QaItem[],
  batchSize = 16,
  format: PromptFormat = {},
  includeEos = false,
): Promise<number[]> {
  const out: number[] = [];
  const eos = includeEos && tok.eosTokenId !== null ? [tok.eosTokenId] : [];
  for (let i = 0; i < items.length; i += batchSize) {
    const encoded = (await Promise.all(items.slice(i, i + batchSize).map((q) => encodeQa(tok, q.question, q.answer, format)))).map((e) => ({
      ...e,
      ids: [...e.ids, ...eos],
    }));
    const len = Math.max(...encoded.map((e) => e.ids.length));
    const ids = encoded.map((e) => [...e.ids, ...new Array<number>(len - e.ids.length).fill(tok.padTokenId)]);
    const labels = encoded.map((e) =>
      e.ids.map((t, k) => (k < e.promptLength ? IGNORE_INDEX : t)).concat(new Array<number>(len - e.ids.length).fill(IGNORE_INDEX)),
    );
    const probs = torch.tidy(() =>
      torch.noGrad(() => {
        const { logProbs, mask } = labelLogProbs(model, torch.tensor(ids, { dtype: 'int64' }), torch.tensor(labels, { dtype: 'int64' }));
        return logProbs.sum(1).div(mask.sum(1).clamp(1)).exp().toArray() as number[];
      }),
    );
    out.push(...probs);
  }
  return out;
}

/** Greedy answers (up to the end of the line) and their ROUGE-L recall against the true answers. */
export async function greedyAnswers(
  model: CausalLM,
  tok: Tokenizer,
  items: QaItem[],
  maxNewTokens = 48,
  batchSize = 16,
  format: PromptFormat = {},
): Promise<{ generated: string; rougeLRecall: number }[]> {
  const out: { generated: string; rougeLRecall: number }[] = [];
  for (let i = 0; i < items.length; i += batchSize) {
    const chunk = items.slice(i, i + batchSize);
    const enc = await tok.encodeBatch(
      chunk.map((q) => qaPrompt(q.question, format, tok)),
      { paddingSide: 'left' },
    );
    const promptLen = enc.inputIds.size(1);
    const eos = tok.eosTokenId;
    const seqs = await model.generate(enc.inputIds, {
      attentionMask: enc.attentionMask,
      maxNewTokens,
      eosTokenId: eos === null ? [] : [eos],
      padTokenId: tok.padTokenId,
    });
    const rows = seqs.toArray() as number[][];
    torch.dispose([enc.inputIds, enc.attentionMask, seqs]);
    for (let k = 0; k < chunk.length; k++) {
      const text = (await tok.decode(rows[k]!.slice(promptLen), { skipSpecialTokens: true })).split('\n')[0]!.trim();
      out.push({ generated: text, rougeLRecall: rougeL(text, chunk[k]!.answer).recall });
    }
  }
  return out;
}

export async function scoreQa(model: CausalLM, tok: Tokenizer, items: QaItem[]): Promise<QaScore[]> {
  const probs = await answerProbabilities(model, tok, items);
  const gens = await greedyAnswers(model, tok, items);
  return items.map((_, k) => ({ probability: probs[k]!, rougeLRecall: gens[k]!.rougeLRecall, generated: gens[k]!.generated }));
}

export function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}
