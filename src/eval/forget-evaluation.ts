// The periodic evaluation `lethe forget --eval-every N` hands the unlearning loop (a callback, so
// unlearn/ needs nothing from eval/): the mean P(true answer) on the forget rows and on (up to 100)
// retain rows, and their gap; the best state by a stated criterion is kept when asked.
import { LetheError } from '../util/errors.js';
import { loadTokenizer } from '../models/tokenizer.js';
import { readRows } from '../train/examples.js';
import type { FieldMap } from '../train/fields.js';
import type { Evaluation } from '../train/loop.js';
import type { PromptFormat } from '../train/prompt.js';
import { answerProbabilities, mean } from './qa.js';

export interface ForgetEvaluationOptions {
  /** The model being unlearned (its tokenizer). */
  modelDir: string;
  forgetFile: string;
  retainFile?: string;
  every: number;
  /** "METRIC:min" or "METRIC:max" (METRIC: forget_prob, retain_prob or gap). */
  keepBest?: string;
  format?: PromptFormat;
  /** The data files' field names (--fields). */
  fields?: FieldMap;
}

export function forgetEvaluation(o: ForgetEvaluationOptions): Evaluation {
  const qa = (file: string) =>
    readRows(file, 'data', o.fields)
      .rows.filter((r) => typeof r.question === 'string')
      .map((r) => ({ question: r.question!, answer: r.answer! }));
  const forgetItems = qa(o.forgetFile);
  const retainItems = o.retainFile ? qa(o.retainFile).slice(0, 100) : [];
  if (!forgetItems.length)
    throw new LetheError(
      'BAD_INPUT',
      '--eval-every measures QA answer probabilities: the forget file must hold {"question","answer"} rows',
    );
  let keepBest: Evaluation['keepBest'];
  if (o.keepBest) {
    const [metric, mode] = o.keepBest.split(':');
    const known = ['forget_prob', ...(retainItems.length ? ['retain_prob', 'gap'] : [])];
    if (!known.includes(metric!) || (mode !== 'min' && mode !== 'max'))
      throw new LetheError(
        'BAD_INPUT',
        `--keep-best must be METRIC:min or METRIC:max with METRIC one of ${known.join(', ')}, got '${o.keepBest}'`,
      );
    keepBest = { metric: metric!, mode };
  }
  const tok = loadTokenizer(o.modelDir);
  return {
    every: o.every,
    keepBest,
    run: async (model): Promise<Record<string, number>> => {
      const forgetProb = mean(await answerProbabilities(model, tok, forgetItems, 16, o.format));
      if (!retainItems.length) return { forget_prob: forgetProb };
      const retainProb = mean(await answerProbabilities(model, tok, retainItems, 16, o.format));
      return { forget_prob: forgetProb, retain_prob: retainProb, gap: retainProb - forgetProb };
    },
  };
}
