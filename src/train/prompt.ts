// How a QA row becomes text: a prompt template (default "Question: {question}\nAnswer: {answer}",
// as TOFU fine-tunes) or the model's chat template. Training, unlearning and evaluation all use
// this one definition, so the tokens the loss sees are the tokens the metrics score.
import type { Tokenizer } from '../models/tokenizer.js';
import { LetheError } from '../util/errors.js';

export const DEFAULT_QA_TEMPLATE = 'Question: {question}\nAnswer: {answer}';

export interface PromptFormat {
  /** A template with {question} and {answer}; ignored when chat is true. */
  template?: string;
  /** Use the tokenizer's chat template (user turn = question, assistant turn = answer). */
  chat?: boolean;
}

/** Checks a template once, with a message naming what is wrong. */
export function checkTemplate(template: string): void {
  const q = template.split('{question}').length - 1;
  const a = template.split('{answer}').length - 1;
  if (q !== 1 || a !== 1 || template.indexOf('{answer}') < template.indexOf('{question}')) {
    throw new LetheError('BAD_INPUT', `prompt template must hold {question} once, then {answer} once; got ${JSON.stringify(template)}`);
  }
}

/** The prompt text (everything before the answer, trailing spaces trimmed) for a question. */
export function qaPrompt(question: string, format: PromptFormat = {}, tok?: Tokenizer): string {
  if (format.chat) {
    if (!tok) throw new LetheError('BAD_INPUT', 'a chat-template prompt needs the tokenizer');
    return tok.applyChatTemplate([{ role: 'user', content: question }], { addGenerationPrompt: true });
  }
  const template = format.template ?? DEFAULT_QA_TEMPLATE;
  return template.slice(0, template.indexOf('{answer}')).replace('{question}', question).trimEnd();
}

/** ids of the whole QA text and how many of them belong to the prompt (the loss skips those). */
export async function encodeQa(
  tok: Tokenizer,
  question: string,
  answer: string,
  format: PromptFormat = {},
): Promise<{ ids: number[]; promptLength: number }> {
  const prompt = qaPrompt(question, format, tok);
  let full: string;
  if (format.chat) {
    full = prompt + answer;
  } else {
    const template = format.template ?? DEFAULT_QA_TEMPLATE;
    const cut = template.indexOf('{answer}');
    const before = template.slice(0, cut).replace('{question}', question);
    // The separator the template puts between prompt and answer (usually one space) stays with the answer.
    full = prompt + before.slice(prompt.length) + answer + template.slice(cut + '{answer}'.length);
  }
  const ids = await tok.encode(full);
  const promptLength = (await tok.encode(prompt)).length;
  return { ids, promptLength };
}
