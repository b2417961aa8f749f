// `lethe ask`: what a model answers to a few questions, and the probability it gives an expected
// answer, so a user can spot-check a model before and after unlearning.
import type { CausalLM } from '../models/model.js';
import type { Tokenizer } from '../models/tokenizer.js';
import type { PromptFormat } from '../train/prompt.js';
import { badRow } from '../util/errors.js';
import { readJsonl } from '../util/jsonl.js';
import { mapFields, type FieldMap } from '../train/fields.js';
import { answerProbabilities, greedyAnswers } from './qa.js';

export interface Question {
  question: string;
  /** The answer whose probability is reported (none: only the model's own answer). */
  answer?: string;
}

export interface Answered extends Question {
  /** The greedy answer, up to the end of its first line. */
  generated: string;
  /** exp(mean log p) of `answer`'s tokens (and EOS) after the prompt: `lethe eval`'s *_Q_A_Prob for one item. */
  probability?: number;
}

/** Questions from a JSONL file of {question, answer?} rows. */
export function readQuestions(path: string, fields?: FieldMap): Question[] {
  return readJsonl(path, {
    what: '--file',
    expected: '{"question", "answer"?} rows',
    validate: (row, line) => {
      if (!row || typeof row !== 'object' || Array.isArray(row)) throw badRow(path, line, null, 'a JSON object', row);
      const r = fields ? mapFields(row as Record<string, unknown>, fields, path, line) : (row as Record<string, unknown>);
      if (typeof r.question !== 'string' || !r.question.trim()) throw badRow(path, line, 'question', 'a non-empty string', r.question);
      if (r.answer !== undefined && typeof r.answer !== 'string') throw badRow(path, line, 'answer', 'a string', r.answer);
      return { question: r.question, ...(r.answer !== undefined ? { answer: r.answer as string } : {}) };
    },
  });
}

export async function ask(
  model: CausalLM,
  tok: Tokenizer,
  questions: Question[],
  o: { format?: PromptFormat; maxNewTokens?: number; batchSize?: number } = {},
): Promise<Answered[]> {
  const gens = await greedyAnswers(
    model,
    tok,
    questions.map((q) => ({ question: q.question, answer: q.answer ?? '' })),
    o.maxNewTokens ?? 48,
    o.batchSize ?? 16,
    o.format,
  );
  const withAnswer = questions.flatMap((q, k) => (q.answer !== undefined ? [{ k, item: { question: q.question, answer: q.answer } }] : []));
  const probs = withAnswer.length
    ? await answerProbabilities(
        model,
        tok,
        withAnswer.map((w) => w.item),
        o.batchSize ?? 16,
        o.format,
        true,
      )
    : [];
  const probOf = new Map(withAnswer.map((w, i) => [w.k, probs[i]!]));
  return questions.map((q, k) => ({ ...q, generated: gens[k]!.generated, ...(probOf.has(k) ? { probability: probOf.get(k)! } : {}) }));
}
