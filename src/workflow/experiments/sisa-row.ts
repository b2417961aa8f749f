// The SISA row of the persona methods table (`lethe table persona --sisa`): exact unlearning by
// sharding beside the approximate methods.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Score, TableRow } from './table.js';

/** Train the persona fine-tune as 4 shards × 2 slices from the base, forget the split's people, and
 *  report the cost against retraining every shard. Folders of an earlier run in out/sisa are reused. */
export async function sisaRow(o: {
  run: string;
  data: string;
  out: string;
  forgetFile: string;
  score: Score;
  log: (line: string) => void;
}): Promise<TableRow> {
  const { sisaTrain, sisaForget } = await import('../../unlearn/sisa/index.js');
  const trained = join(o.out, 'sisa', 'trained');
  const forgotten = join(o.out, 'sisa', 'forgotten');
  const t0 = Date.now();
  if (!existsSync(join(trained, 'sisa.json'))) {
    await sisaTrain({
      modelDir: join(o.run, 'base'),
      dataFile: join(o.data, 'persona', 'qa', 'all.jsonl'),
      shards: 4,
      slices: 2,
      key: 'person_id',
      outDir: trained,
      overwrite: true,
      epochs: 10,
      lr: 2e-3,
      batchSize: 16,
      report: () => {},
    });
  }
  const trainSeconds = (Date.now() - t0) / 1000;
  const t1 = Date.now();
  const f = existsSync(join(forgotten, 'sisa.json'))
    ? null
    : await sisaForget({ dir: trained, outDir: forgotten, overwrite: true, idsFile: o.forgetFile, report: () => {} });
  const forgetSeconds = (Date.now() - t1) / 1000;
  const note = f
    ? `SISA (4 shards × 2 slices, QA only): forgetting retrained shards ${f.shardsRetrained.join(', ')} — ${f.stepsRetrained} of ${f.stepsFull} steps (${(100 * (1 - f.stepsRetrained / f.stepsFull)).toFixed(0)}% saved), ${forgetSeconds.toFixed(0)} s against ${trainSeconds.toFixed(0)} s to train all shards`
    : 'SISA: reused an earlier run';
  o.log(`[table] ${note}`);
  let metrics: Record<string, number | null> = {};
  try {
    metrics = await o.score('SISA', forgotten);
  } catch (err) {
    o.log(`[table] SISA ensemble not scored: ${(err as Error).message}`);
  }
  return { name: 'SISA (exact)', metrics, seconds: forgetSeconds, note };
}
