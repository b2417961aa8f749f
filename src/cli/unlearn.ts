// `lethe forget`, `lethe methods`, `lethe finetune`: thin — parse, validate, call the library.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { LetheError } from '../util/errors.js';
import type { LoraConfig } from '../models/lora.js';
import type { Device } from '../torch/types.js';
import type { Evaluation } from '../train/loop.js';
import { checkTemplate, type PromptFormat } from '../train/prompt.js';

/** "r=8,alpha=16,targets=q_proj,v_proj[,dropout=0.05][,rslora]" */
export function parseLora(spec: string): LoraConfig {
  const out: LoraConfig = { r: 8, loraAlpha: 16, loraDropout: 0, targetModules: ['q_proj', 'v_proj'] };
  let targets: string[] | null = null;
  let last = '';
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq < 0 && last === 'targets') {
      targets!.push(part);
      continue;
    }
    const [k, v] = eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    last = k;
    const num = (name: string, ok: (n: number) => boolean, expected: string) => {
      const n = Number(v);
      if (v === '' || !ok(n)) throw new LetheError('BAD_INPUT', `--lora: '${name}' must be ${expected}, got '${v}'`);
      return n;
    };
    if (k === 'r') out.r = num('r', (n) => Number.isInteger(n) && n > 0, 'a positive integer');
    else if (k === 'alpha') out.loraAlpha = num('alpha', (n) => n > 0, 'a positive number');
    else if (k === 'dropout') out.loraDropout = num('dropout', (n) => n >= 0 && n < 1, 'a number in [0, 1)');
    else if (k === 'targets') targets = v ? [v] : [];
    else if (k === 'rslora' && v === '') out.useRslora = true;
    else throw new LetheError('BAD_INPUT', `--lora: unknown key '${k}' (expected r, alpha, dropout, targets, rslora)`);
  }
  if (targets) {
    if (!targets.length) throw new LetheError('BAD_INPUT', "--lora: 'targets' names no module");
    out.targetModules = targets;
  }
  return out;
}

/** key=value pairs of --set, collected. */
function collectSet(value: string, prev: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new LetheError('BAD_INPUT', `--set takes key=value, got '${value}'`);
  return { ...prev, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** Commander parsers that reject with a message naming the flag. */
export const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new LetheError('BAD_INPUT', `'--${name}' must be a positive integer, got '${v}'`);
  return n;
};
export const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new LetheError('BAD_INPUT', `'--${name}' must be a positive number, got '${v}'`);
  return n;
};

export function promptFormat(o: { promptTemplate?: string; chatTemplate?: boolean }): PromptFormat | undefined {
  if (o.promptTemplate) checkTemplate(o.promptTemplate.replace(/\\n/g, '\n'));
  return o.chatTemplate ? { chat: true } : o.promptTemplate ? { template: o.promptTemplate.replace(/\\n/g, '\n') } : undefined;
}

interface TrainFlags {
  out: string; epochs?: number; steps?: number; lr?: number; batchSize?: number; seed: number; device: string; resume?: boolean; overwrite?: boolean;
  lora?: string; merge?: boolean; promptTemplate?: string; chatTemplate?: boolean; maxLength?: number;
}

function trainingOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--out <dir>', 'output folder (a new model folder; never the input)')
    .option('--epochs <n>', 'passes over the data', int('epochs'))
    .option('--steps <n>', 'optimizer steps (instead of --epochs)', int('steps'))
    .option('--lr <x>', 'peak learning rate', num('lr'))
    .option('--batch-size <n>', 'examples per step', int('batch-size'))
    .option('--seed <n>', 'seed', (v) => Number.parseInt(v, 10), 0)
    .option('--device <d>', 'cpu, cuda or cuda:N', 'cpu')
    .option('--lora <spec>', 'train LoRA adapters: r=8,alpha=16,targets=q_proj,v_proj[,dropout=0.05][,rslora]')
    .option('--merge', 'merge LoRA adapters into the weights on save (default: PEFT adapter folder)')
    .option('--prompt-template <t>', 'QA template with {question} and {answer} (default "Question: {question}\\nAnswer: {answer}")')
    .option('--chat-template', "format QA rows with the model's chat template")
    .option('--max-length <n>', 'cut examples to this many tokens', int('max-length'))
    .option('--resume', 'continue an interrupted run from its checkpoint in --out')
    .option('--overwrite', 'replace a non-empty --out: its contents are deleted first')
    .option('--nproc <n>', 'data-parallel: N local processes share each global batch (Gloo; see README)');
}

type ForgetFlags = TrainFlags & { model: string; forget: string; retain?: string | false; method: string; set: Record<string, string>; config?: string; mask?: string; alsoForget?: string[]; evalEvery?: number; keepBest?: string };

/** Periodic evaluation during forget: the mean P(true answer) on the forget rows and on (up to 100)
 *  retain rows, and their gap; keeps the best state by a stated criterion when asked. */
async function forgetEvaluation(o: ForgetFlags): Promise<Evaluation> {
  const { readRows } = await import('../train/examples.js');
  const { answerProbabilities, mean } = await import('../eval/qa.js');
  const { loadTokenizer } = await import('../models/tokenizer.js');
  const qa = (file: string) => readRows(file).rows.filter((r) => typeof r.question === 'string').map((r) => ({ question: r.question!, answer: r.answer! }));
  const forgetItems = qa(o.forget);
  const retainItems = o.retain ? qa(o.retain).slice(0, 100) : [];
  if (!forgetItems.length) throw new LetheError('BAD_INPUT', '--eval-every measures QA answer probabilities: the forget file must hold {"question","answer"} rows');
  let keepBest: Evaluation['keepBest'];
  if (o.keepBest) {
    const [metric, mode] = o.keepBest.split(':');
    const known = ['forget_prob', ...(retainItems.length ? ['retain_prob', 'gap'] : [])];
    if (!known.includes(metric!) || (mode !== 'min' && mode !== 'max')) throw new LetheError('BAD_INPUT', `--keep-best must be METRIC:min or METRIC:max with METRIC one of ${known.join(', ')}, got '${o.keepBest}'`);
    keepBest = { metric: metric!, mode };
  }
  const format = promptFormat(o);
  const tok = loadTokenizer(o.model);
  return {
    every: o.evalEvery!, keepBest,
    run: async (model): Promise<Record<string, number>> => {
      const forgetProb = mean(await answerProbabilities(model, tok, forgetItems, 16, format));
      if (!retainItems.length) return { forget_prob: forgetProb };
      const retainProb = mean(await answerProbabilities(model, tok, retainItems, 16, format));
      return { forget_prob: forgetProb, retain_prob: retainProb, gap: retainProb - forgetProb };
    },
  };
}

export function registerUnlearnCommands(program: Command): void {
  trainingOptions(program
    .command('forget')
    .description('unlearn: remove the forget data from a model with a registered method')
    .requiredOption('--model <dir>', 'the model folder to unlearn from (only read)')
    .requiredOption('--forget <file>', 'JSONL of what to forget ({"text"} or {"question","answer"} rows)')
    .option('--retain <file>', 'JSONL of what to keep')
    .option('--no-retain', "run a method that uses retain data without it, on purpose (else a warning says what is dropped)")
    .requiredOption('--method <name>', 'method name (see `lethe methods`)')
    .option('--set <key=value>', "a method argument (repeatable), e.g. --set beta=0.2", collectSet, {})
    .option('--config <file>', 'JSON file with method arguments ({"beta": 0.2}); --set wins')
    .option('--mask <spec>', 'parameter isolation: saliency:p=0.01[,rows][,relative]')
    .option('--also-forget <files...>', 'earlier forget sets that must stay forgotten')
    .option('--eval-every <n>', 'every N steps measure forget_prob, retain_prob and gap (= retain_prob − forget_prob) on QA data', int('eval-every'))
    .option('--keep-best <metric:mode>', 'keep the weights of the best evaluation, e.g. gap:max or forget_prob:min (needs --eval-every)'))
    .action(async (o: ForgetFlags) => {
      const { forget, parseMask } = await import('../unlearn/index.js');
      let config: Record<string, unknown> = {};
      if (o.config) {
        try {
          config = JSON.parse(readFileSync(o.config, 'utf8')) as Record<string, unknown>;
        } catch (err) {
          throw new LetheError('BAD_INPUT', `--config ${o.config}: ${(err as Error).message}`);
        }
        if (!config || typeof config !== 'object' || Array.isArray(config)) throw new LetheError('BAD_INPUT', `--config ${o.config}: expected a JSON object of method arguments`);
      }
      const evaluation = o.evalEvery ? await forgetEvaluation(o) : undefined;
      const r = await forget({
        evaluation,
        modelDir: o.model, forgetFile: o.forget, retainFile: o.retain || undefined, noRetain: o.retain === false, method: o.method, args: { ...config, ...o.set }, outDir: o.out,
        epochs: o.epochs, steps: o.steps, lr: o.lr, batchSize: o.batchSize, seed: o.seed, device: o.device as Device, resume: o.resume, overwrite: o.overwrite,
        lora: o.lora ? parseLora(o.lora) : undefined, merge: o.merge, mask: o.mask ? parseMask(o.mask) : undefined,
        format: promptFormat(o), maxLength: o.maxLength, alsoForget: o.alsoForget,
      });
      console.log(`${r.method}: ${r.steps} steps in ${r.seconds.toFixed(1)} s, ${r.parametersChanged} of ${r.parametersTotal} parameters changed → ${r.outDir}`);
    });

  program
    .command('methods')
    .description('list the unlearning methods: what each does, its arguments and defaults, what it needs')
    .option('--json', 'as JSON (arguments as JSON Schema)')
    .action(async (o: { json?: boolean }) => {
      const { describeMethods } = await import('../unlearn/index.js');
      const all = describeMethods();
      if (o.json) {
        console.log(JSON.stringify(all, null, 2));
        return;
      }
      for (const m of all) {
        console.log(`${m.name.padEnd(12)} ${m.description}`);
        const args = Object.entries(m.defaults).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
        if (args) console.log(`${''.padEnd(12)} arguments: ${args}`);
        const needs = Object.entries(m.needs as Record<string, unknown>).filter(([, v]) => v && v !== 'none').map(([k, v]) => (v === true ? k : `${k}=${v}`)).join(', ');
        console.log(`${''.padEnd(12)} needs: ${needs || 'forget data only'}`);
      }
    });

  trainingOptions(program
    .command('finetune')
    .description('fine-tune a model on JSONL data (build a target, a reinforced model, a relearning attack)')
    .requiredOption('--model <dir>', 'the model folder to start from (only read)')
    .requiredOption('--data <files...>', 'JSONL files ({"text"} or {"question","answer"} rows)'))
    .action(async (o: TrainFlags & { model: string; data: string[] }) => {
      const { finetune } = await import('../train/finetune.js');
      const r = await finetune({
        modelDir: o.model, dataFiles: o.data, outDir: o.out, epochs: o.epochs, steps: o.steps, lr: o.lr, batchSize: o.batchSize, seed: o.seed,
        device: o.device as Device, resume: o.resume, overwrite: o.overwrite, lora: o.lora ? parseLora(o.lora) : undefined, merge: o.merge, format: promptFormat(o), maxLength: o.maxLength,
      });
      console.log(`finetune: ${r.steps} steps in ${r.seconds.toFixed(1)} s, final loss ${r.finalLoss.toFixed(4)} → ${o.out}`);
    });
}
