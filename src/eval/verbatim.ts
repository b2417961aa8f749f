// Verbatim memorization (MUSE's VerbMem): greedy continuation of a passage's first part,
// ROUGE-L F1 against the true continuation.
import * as torch from '../torch/index.js';
import type { CausalLM } from '../models/model.js';
import type { Tokenizer } from '../models/tokenizer.js';
import { rougeL } from './rouge.js';

export interface VerbatimProbe {
  prompt: string;
  reference: string;
}

export async function verbatimRougeL(
  model: CausalLM,
  tok: Tokenizer,
  probes: VerbatimProbe[],
  options: { maxNewTokens?: number; batchSize?: number; maxPromptTokens?: number } = {},
): Promise<number[]> {
  const batchSize = options.batchSize ?? 16;
  const out: number[] = [];
  for (let i = 0; i < probes.length; i += batchSize) {
    const chunk = probes.slice(i, i + batchSize);
    const maxNew =
      options.maxNewTokens ?? Math.max(...(await Promise.all(chunk.map((p) => tok.encode(p.reference)))).map((ids) => ids.length));
    const maxPrompt = options.maxPromptTokens ?? Math.max(8, model.config.maxPositionEmbeddings - maxNew);
    const prompts = await Promise.all(chunk.map(async (p) => (await tok.encode(p.prompt)).slice(-maxPrompt)));
    const len = Math.max(...prompts.map((p) => p.length));
    const ids = prompts.map((p) => [...new Array<number>(len - p.length).fill(tok.padTokenId), ...p]);
    const mask = prompts.map((p) => [...new Array<number>(len - p.length).fill(0), ...new Array<number>(p.length).fill(1)]);
    const input = torch.tensor(ids, { dtype: 'int64' });
    const attention = torch.tensor(mask, { dtype: 'int64' });
    const eos = tok.eosTokenId;
    const seqs = await model.generate(input, {
      attentionMask: attention,
      maxNewTokens: Math.min(maxNew, model.config.maxPositionEmbeddings - len),
      eosTokenId: eos === null ? [] : [eos],
      padTokenId: tok.padTokenId,
    });
    const rows = seqs.toArray() as number[][];
    torch.dispose([input, attention, seqs]);
    for (let k = 0; k < chunk.length; k++) {
      const text = await tok.decode(rows[k]!.slice(len), { skipSpecialTokens: true });
      out.push(rougeL(text, chunk[k]!.reference).f1);
    }
  }
  return out;
}
