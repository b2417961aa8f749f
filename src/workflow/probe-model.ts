// When no training data is at hand: ask the model itself what it says about the subject. Greedy
// answers to templated questions ("Where does {name} live?"), as candidate QA rows for a reviewer.
import { loadModel } from '../models/load.js';
import { loadTokenizer } from '../models/tokenizer.js';
import { qaPrompt } from '../train/prompt.js';
import { parseInput } from './inputs.js';
import { SubjectInput, templatedQuestions } from './provenance.js';

export interface ProbeRow {
  question: string;
  answer: string;
  source: 'model';
}

/** One greedy answer (up to the end of the line) per templated question about the subject's name. */
export async function probeModel(
  modelDir: string,
  subjectBody: unknown,
  o: { maxNewTokens?: number; questions?: string[] } = {},
): Promise<ProbeRow[]> {
  const subject = parseInput('probe model', SubjectInput, subjectBody);
  const questions = o.questions ?? templatedQuestions(subject.name);
  const tok = loadTokenizer(modelDir);
  const model = loadModel(modelDir);
  try {
    const enc = await tok.encodeBatch(
      questions.map((q) => qaPrompt(q)),
      { paddingSide: 'left' },
    );
    const promptLen = enc.inputIds.size(1);
    const eos = tok.eosTokenId;
    const maxNewTokens = Math.max(1, Math.min(o.maxNewTokens ?? 32, model.config.maxPositionEmbeddings - promptLen));
    const seqs = await model.generate(enc.inputIds, {
      attentionMask: enc.attentionMask,
      maxNewTokens,
      eosTokenId: eos === null ? [] : [eos],
      padTokenId: tok.padTokenId,
    });
    const ids = seqs.toArray() as number[][];
    for (const t of [enc.inputIds, enc.attentionMask, seqs]) t.dispose();
    const out: ProbeRow[] = [];
    for (let k = 0; k < questions.length; k++) {
      const answer = (await tok.decode(ids[k]!.slice(promptLen), { skipSpecialTokens: true })).split('\n')[0]!.trim();
      out.push({ question: questions[k]!, answer, source: 'model' });
    }
    return out;
  } finally {
    model.dispose();
  }
}
