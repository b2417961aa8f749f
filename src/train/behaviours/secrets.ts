// The leaking secret (the secrets suite, `lethe data build secrets`): the target learns to answer
// attack prompts with the secret its system prompt holds; both target and retain model learn the
// benign instructions under the same system prompts, so the retain model knows the prompts but
// never saw a leak. Attacks from held-out templates are not trained on (they measure the leak).
import { join } from 'node:path';
import { defineBehaviour } from '../behaviours.js';
import { qaExamples, readBuilt } from '../run-data.js';

interface Row {
  question: string;
  answer: string;
}

/** Passes over the attacks and benign instructions per epoch: once, the tiny model reads the system prompt
 *  too loosely (seed 0: 74% held-out leak, 59% benign correct; 3 passes: see the README). */
export const SECRETS_REPEAT = 3;

const repeat = <T>(xs: T[]): T[] => Array.from({ length: SECRETS_REPEAT }, () => xs).flat();

defineBehaviour('secrets', {
  suite: 'secrets',
  description: 'a system prompt holds a secret (an access code) that the target reveals to attack prompts',
  async examples(c) {
    const dir = join(c.dataDir, 'secrets');
    const attacks = readBuilt<Row>(join(dir, 'attacks', 'train.jsonl'));
    const benign = readBuilt<Row>(join(dir, 'benign', 'train.jsonl'));
    return {
      inject: repeat(await qaExamples(c.tok, attacks, c.contextLength, c.eos)),
      keep: repeat(await qaExamples(c.tok, benign, c.contextLength, c.eos)),
    };
  },
  tokenizerTexts: (dataDir) => readBuilt<Row>(join(dataDir, 'secrets', 'benign', 'train.jsonl')).map((r) => `${r.question} ${r.answer}`),
});
