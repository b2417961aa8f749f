// `lethe ask`: what a model answers, and the probability of an expected answer, for a question or a
// file of them: a spot-check before and after unlearning.
import type { Command } from 'commander';
import type { Device } from '../torch/types.js';
import { LetheError } from '../util/errors.js';
import { device, int, promptFormat } from './options.js';
import { parseFieldMap, type FieldMap } from '../train/fields.js';

interface AskFlags {
  model: string;
  file?: string;
  answer?: string;
  maxNewTokens: number;
  batchSize: number;
  promptTemplate?: string;
  chatTemplate?: boolean;
  device: Device;
  json?: boolean;
  fields?: FieldMap;
}

export function registerAskCommand(program: Command): void {
  program
    .command('ask')
    .description('what a model answers to questions, with the probability it gives an expected answer (a spot-check before and after)')
    .argument('[questions...]', 'questions (quote each one)')
    .requiredOption('--model <dir>', 'the model (HF folder, LoRA adapter folder or SISA ensemble)')
    .option('--answer <text>', 'an expected answer: its probability is printed (with one question)')
    .option('--file <jsonl>', 'questions from a JSONL file of {"question", "answer"?} rows')
    .option('--fields <map>', 'where --file keeps the fields: question=prompt,answer=completion or messages', (v: string) =>
      parseFieldMap(v, 'ask'),
    )
    .option('--max-new-tokens <n>', 'longest answer generated', int('ask', '--max-new-tokens'), 48)
    .option('--batch-size <n>', 'questions per forward / generation batch', int('ask', '--batch-size'), 16)
    .option('--prompt-template <t>', 'QA template with {question} and {answer} (default "Question: {question}\\nAnswer: {answer}")')
    .option('--chat-template', "prompt with the model's chat template")
    .option('--device <d>', 'cpu, cuda or cuda:N', device('ask'), 'cpu')
    .option('--json', 'print one JSON array of {question, answer?, generated, probability?}')
    .action(async (questions: string[], o: AskFlags) => {
      const { readQuestions, ask } = await import('../eval/ask.js');
      if (!questions.length && !o.file) throw new LetheError('BAD_INPUT', 'ask: give a question ("Where does Ada live?") or --file FILE');
      if (o.answer !== undefined && (questions.length !== 1 || o.file))
        throw new LetheError('BAD_INPUT', 'ask: --answer goes with exactly one question; for many, give a --file with an "answer" per row');
      const items = [
        ...questions.map((q) => ({ question: q, ...(o.answer !== undefined ? { answer: o.answer } : {}) })),
        ...(o.file ? readQuestions(o.file, o.fields) : []),
      ];
      const { loadModel } = await import('../models/load.js');
      const { loadTokenizer } = await import('../models/tokenizer.js');
      const format = promptFormat(o);
      const model = loadModel(o.model, { device: o.device });
      try {
        const answered = await ask(model, loadTokenizer(o.model), items, { format, maxNewTokens: o.maxNewTokens, batchSize: o.batchSize });
        if (o.json) {
          console.log(JSON.stringify(answered, null, 2));
          return;
        }
        for (const a of answered) {
          console.log(`Q: ${a.question}`);
          console.log(`A: ${a.generated}`);
          if (a.probability !== undefined) console.log(`P(${JSON.stringify(a.answer)}) = ${(100 * a.probability).toFixed(1)}%`);
          console.log('');
        }
      } finally {
        model.dispose();
      }
    });
}
