// `lethe sisa train` and `lethe sisa forget`: exact unlearning by sharding (unlearn/sisa/). Thin:
// parse, validate, call the library.
import type { Command } from 'commander';
import type { Device } from '../torch/types.js';
import { device, int, trainingFlags, trainingOptions, type TrainingFlags } from './options.js';
import { lineageFlags, lineageHook, type LineageFlags } from './lineage.js';

export function registerSisaCommands(program: Command): void {
  const sisa = program
    .command('sisa')
    .description('exact unlearning by sharding (SISA): train K constituent models, forget by retraining one shard');
  trainingFlags(
    lineageFlags(sisa.command('train'))
      .description(
        'train K constituents from one base, each on its shard (records grouped by --key), slice by slice with a checkpoint after each',
      )
      .requiredOption('--model <dir>', 'the base model folder (only read)')
      .requiredOption('--data <file>', 'JSONL records ({"text"} or {"question","answer"} rows, each with the --key field)')
      .requiredOption('--shards <k>', 'number of shards (constituent models)', int('sisa train', '--shards'))
      .requiredOption('--slices <s>', 'slices per shard (checkpoints per constituent)', int('sisa train', '--slices'))
      .requiredOption('--key <field>', 'the field whose value keeps records together in one shard (e.g. person_id)'),
    ['out', 'epochs', 'lr', 'batchSize', 'seed', 'device', 'promptTemplate', 'chatTemplate', 'maxLength', 'overwrite', 'nproc'],
    {
      out: 'the SISA folder to write (sisa.json + shard-k/slice-i/)',
      epochs: 'epochs of every slice stage over its records (default 3)',
      lr: 'peak learning rate (default 1e-4)',
      batchSize: 'examples per step (default 8)',
      promptTemplate: 'QA template with {question} and {answer}',
      nproc: 'train N shards at once, one per local process (see README)',
    },
  ).action(async (o: TrainingFlags & LineageFlags & { model: string; data: string; shards: number; slices: number; key: string }) => {
    const { sisaTrain } = await import('../unlearn/sisa/index.js');
    const lineage = await lineageHook(o, { how: 'sisa', modelDir: o.model, data: [{ path: o.data, role: 'train' }] });
    const t = trainingOptions(o);
    const r = await sisaTrain({
      modelDir: o.model,
      dataFile: o.data,
      shards: o.shards,
      slices: o.slices,
      key: o.key,
      outDir: o.out,
      overwrite: t.overwrite,
      epochs: t.epochs,
      lr: t.lr,
      batchSize: t.batchSize,
      seed: t.seed,
      device: t.device,
      format: t.format,
      maxLength: t.maxLength,
    });
    await lineage?.(r.outDir);
    console.log(`sisa: ${r.records} records in ${o.shards} shards (${r.perShard.join(', ')}), ${r.steps} steps → ${r.outDir}`);
  });
  lineageFlags(sisa.command('forget'))
    .description('forget records exactly: retrain only the shards that held them, from the checkpoint before the first affected slice')
    .argument('<dir>', 'the SISA folder (only read)')
    .option('--key <value>', 'forget every record whose key field has this value')
    .option('--ids <file>', 'forget the records listed: one record id (sha256 from sisa.json) or one JSON row per line')
    .option('--data <file>', 'the data the ensemble was trained on (default: the file sisa.json names)')
    .requiredOption('--out <dir>', 'the new SISA folder')
    .option('--device <d>', 'cpu, cuda or cuda:N', device('sisa forget'), 'cpu')
    .option('--json', 'print the result as JSON')
    .option('--overwrite', 'replace a non-empty --out: its contents are deleted first')
    .option('--nproc <n>', 'retrain N affected shards at once, one per local process')
    .action(
      async (
        dir: string,
        o: LineageFlags & { key?: string; ids?: string; data?: string; out: string; device: Device; json?: boolean; overwrite?: boolean },
      ) => {
        const { sisaForget } = await import('../unlearn/sisa/index.js');
        // The key's value may name the person: only an --ids file is recorded (by sha256).
        const lineage = await lineageHook(o, {
          how: 'unlearning',
          modelDir: dir,
          data: o.ids ? [{ path: o.ids, role: 'forget' }] : [],
          details: { method: 'sisa' },
        });
        const r = await sisaForget({
          dir,
          outDir: o.out,
          overwrite: o.overwrite,
          key: o.key,
          idsFile: o.ids,
          dataFile: o.data,
          device: o.device,
        });
        await lineage?.(r.outDir);
        if (o.json) console.log(JSON.stringify(r, null, 2));
        else {
          const saved = r.stepsFull ? (100 * (1 - r.stepsRetrained / r.stepsFull)).toFixed(0) : '0';
          console.log(
            `sisa forget: removed ${r.removed} records; retrained shards ${r.shardsRetrained.join(', ')}: ${r.stepsRetrained} of ${r.stepsFull} steps (${saved}% saved) → ${r.outDir}`,
          );
        }
      },
    );
}
