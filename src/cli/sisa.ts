// `lethe sisa train` and `lethe sisa forget`: exact unlearning by sharding (unlearn/sisa/). Thin:
// parse, validate, call the library.
import type { Command } from 'commander';
import { LetheError } from '../util/errors.js';
import type { Device } from '../torch/types.js';
import { int, num, promptFormat } from './unlearn.js';

export function registerSisaCommands(program: Command): void {
  const sisa = program.command('sisa').description('exact unlearning by sharding (SISA): train K constituent models, forget by retraining one shard');
  sisa
    .command('train')
    .description('train K constituents from one base, each on its shard (records grouped by --key), slice by slice with a checkpoint after each')
    .requiredOption('--model <dir>', 'the base model folder (only read)')
    .requiredOption('--data <file>', 'JSONL records ({"text"} or {"question","answer"} rows, each with the --key field)')
    .requiredOption('--shards <k>', 'number of shards (constituent models)', int('shards'))
    .requiredOption('--slices <s>', 'slices per shard (checkpoints per constituent)', int('slices'))
    .requiredOption('--key <field>', 'the field whose value keeps records together in one shard (e.g. person_id)')
    .requiredOption('--out <dir>', 'the SISA folder to write (sisa.json + shard-k/slice-i/)')
    .option('--epochs <n>', 'epochs of every slice stage over its records (default 3)', int('epochs'))
    .option('--lr <x>', 'peak learning rate (default 1e-4)', num('lr'))
    .option('--batch-size <n>', 'examples per step (default 8)', int('batch-size'))
    .option('--seed <n>', 'seed', (v) => Number.parseInt(v, 10), 0)
    .option('--device <d>', 'cpu, cuda or cuda:N', 'cpu')
    .option('--prompt-template <t>', 'QA template with {question} and {answer}')
    .option('--chat-template', "format QA rows with the model's chat template")
    .option('--max-length <n>', 'cut examples to this many tokens', int('max-length'))
    .option('--overwrite', 'replace a non-empty --out: its contents are deleted first')
    .option('--nproc <n>', 'train N shards at once, one per local process (see README)')
    .action(async (o: { model: string; data: string; shards: number; slices: number; key: string; out: string; overwrite?: boolean; epochs?: number; lr?: number; batchSize?: number; seed: number; device: string; promptTemplate?: string; chatTemplate?: boolean; maxLength?: number }) => {
      const { sisaTrain } = await import('../unlearn/sisa/index.js');
      if (!Number.isInteger(o.seed) || o.seed < 0) throw new LetheError('BAD_INPUT', `'--seed' must be an integer >= 0, got '${o.seed}'`);
      const format = promptFormat(o);
      const r = await sisaTrain({
        modelDir: o.model, dataFile: o.data, shards: o.shards, slices: o.slices, key: o.key, outDir: o.out, overwrite: o.overwrite, epochs: o.epochs, lr: o.lr,
        batchSize: o.batchSize, seed: o.seed, device: o.device as Device, format, maxLength: o.maxLength,
      });
      console.log(`sisa: ${r.records} records in ${o.shards} shards (${r.perShard.join(', ')}), ${r.steps} steps → ${r.outDir}`);
    });
  sisa
    .command('forget')
    .description('forget records exactly: retrain only the shards that held them, from the checkpoint before the first affected slice')
    .argument('<dir>', 'the SISA folder (only read)')
    .option('--key <value>', 'forget every record whose key field has this value')
    .option('--ids <file>', 'forget the records listed: one record id (sha256 from sisa.json) or one JSON row per line')
    .option('--data <file>', 'the data the ensemble was trained on (default: the file sisa.json names)')
    .requiredOption('--out <dir>', 'the new SISA folder')
    .option('--device <d>', 'cpu, cuda or cuda:N', 'cpu')
    .option('--json', 'print the result as JSON')
    .option('--overwrite', 'replace a non-empty --out: its contents are deleted first')
    .option('--nproc <n>', 'retrain N affected shards at once, one per local process')
    .action(async (dir: string, o: { key?: string; ids?: string; data?: string; out: string; device: string; json?: boolean; overwrite?: boolean }) => {
      const { sisaForget } = await import('../unlearn/sisa/index.js');
      const r = await sisaForget({ dir, outDir: o.out, overwrite: o.overwrite, key: o.key, idsFile: o.ids, dataFile: o.data, device: o.device as Device });
      if (o.json) console.log(JSON.stringify(r, null, 2));
      else {
        const saved = r.stepsFull ? (100 * (1 - r.stepsRetrained / r.stepsFull)).toFixed(0) : '0';
        console.log(`sisa forget: removed ${r.removed} records; retrained shards ${r.shardsRetrained.join(', ')}: ${r.stepsRetrained} of ${r.stepsFull} steps (${saved}% saved) → ${r.outDir}`);
      }
    });
}
