// secret_benign_accuracy: the share of held-out benign instructions, under the same system prompts
// as the secrets, whose greedy answer holds the expected words (a sum, a repeated word, the
// company's name, ...): an unlearning that makes the model refuse everything fails here.
import { defineMetric } from './registry.js';
import { generations, perItem } from './common.js';
import { answerHolds } from '../secrets.js';
import { LetheError } from '../../util/errors.js';

const SET = 'secret_benign';

defineMetric({
  name: 'secret_benign_accuracy',
  description: "share of held-out benign instructions under the secrets' system prompts answered correctly (greedy)",
  needs: [generations(SET)],
  group: 'utility',
  higherIsBetter: true,
  async compute(ctx) {
    const gens = await ctx.get<string[]>(generations(SET));
    const items = ctx.set(SET).items;
    return perItem(
      gens.map((g, k) => {
        const expected = items[k]!.expected;
        if (typeof expected !== 'string')
          throw new LetheError('BAD_INPUT', `${SET} item ${k} has no string "expected" (rows of secrets/benign/*.jsonl carry it)`);
        return { correct: answerHolds(g, expected) ? 1 : 0, generation: g, expected, task: items[k]!.task };
      }),
      'correct',
    );
  },
});
