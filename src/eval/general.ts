// General ability that unlearning must keep, measured the same way for every stage and method:
// held-out GCIDE NLL (nats/token; a uniform guess over the vocabulary scores ln V) and the mean
// probability of the true world-facts answers (TOFU's world-facts role).
import { join } from 'node:path';
import * as torch from '../torch/index.js';
import type { CausalLM } from '../models/model.js';
import { loadTokenizer, type Tokenizer } from '../models/tokenizer.js';
import { loadModel } from '../models/load.js';
import { modelLoss } from '../models/loss.js';
import { readBuilt } from '../train/run-data.js';
import { answerProbabilities, mean, type QaItem } from './qa.js';

export interface GeneralAbility {
  /** Mean next-token NLL over the first `maxTokens` tokens of the first `rows` held-out GCIDE rows. */
  gcideNll: number;
  /** Mean P(true answer) (exp of the mean answer-token log-likelihood) over the world-facts QA. */
  worldFactsProb: number;
}

/** Token-weighted mean NLL of texts (each cut to maxTokens), in batches. */
export async function heldoutNll(model: CausalLM, tok: Tokenizer, texts: string[], maxTokens = 160, batchSize = 25): Promise<number> {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < texts.length; i += batchSize) {
    const ids = await Promise.all(texts.slice(i, i + batchSize).map(async (t) => (await tok.encode(t)).slice(0, maxTokens)));
    const len = Math.max(...ids.map((x) => x.length));
    const input = ids.map((x) => [...x, ...new Array<number>(len - x.length).fill(tok.padTokenId)]);
    const labels = ids.map((x) => [...x, ...new Array<number>(len - x.length).fill(-100)]);
    const tokens = ids.reduce((s, x) => s + Math.max(0, x.length - 1), 0);
    const loss = torch.tidy(() =>
      torch.noGrad(() => modelLoss(model, torch.tensor(input, { dtype: 'int64' }), torch.tensor(labels, { dtype: 'int64' })).item()),
    );
    sum += loss * tokens;
    count += tokens;
  }
  return sum / Math.max(1, count);
}

export async function generalAbility(
  model: CausalLM,
  tok: Tokenizer,
  dataDir: string,
  options: { rows?: number; maxTokens?: number } = {},
): Promise<GeneralAbility> {
  const heldout = readBuilt<{ text: string }>(join(dataDir, 'general', 'gcide', 'heldout.jsonl'))
    .slice(0, options.rows ?? 200)
    .map((r) => r.text);
  const facts = readBuilt<QaItem>(join(dataDir, 'general', 'elements', 'facts_qa.jsonl'));
  return {
    gcideNll: await heldoutNll(model, tok, heldout, options.maxTokens ?? 160),
    worldFactsProb: mean(await answerProbabilities(model, tok, facts)),
  };
}

/** generalAbility of a model folder, loaded and freed here (the pipeline's per-stage report). */
export async function assessStage(dir: string, dataDir: string, options: { rows?: number } = {}): Promise<Record<string, number>> {
  const model = loadModel(dir);
  try {
    return { ...(await generalAbility(model, loadTokenizer(dir), dataDir, options)) };
  } finally {
    model.dispose();
  }
}
