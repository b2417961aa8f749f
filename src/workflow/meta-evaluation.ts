// The deployment's last meta-evaluation of the metrics (`lethe eval meta --deployment DIR`): each
// metric's faithfulness (and its variants' robustness, as int4_X / relearn_X), when and on how many
// models. A release whose policy relies on a metric below FAITHFULNESS_MIN there gets a warning in
// its certificate. Holds metric names and numbers only.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LetheError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { MetaJson } from '../eval/meta.js';
import { safeToRead } from './confine.js';
import { policyMetrics, type Policy } from './policy.js';

export const META_EVALUATION_FILE = 'meta-evaluation.json';
/** Below this AUC a metric is a weak witness of the knowledge being gone. */
export const FAITHFULNESS_MIN = 0.8;

export interface DeploymentMeta {
  kind: 'lethe-deployment-meta-evaluation';
  version: 1;
  created: string;
  pool: { present: number; absent: number };
  /** Per metric its faithfulness; per variant key (int4_X, relearn_X) the robustness AUC. */
  faithfulness: Record<string, number | null>;
  /** Why a metric has none (not applicable, missing values). */
  reasons: Record<string, string>;
}

/** Records a meta-evaluation as the deployment's last (replacing the previous one). */
export function recordMetaEvaluation(dataDir: string, m: MetaJson): string {
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory())
    throw new LetheError('BAD_INPUT', `eval meta: --deployment ${dataDir} is not a folder (expected the deployment's data folder)`);
  const faithfulness: Record<string, number | null> = {};
  const reasons: Record<string, string> = {};
  for (const x of m.metrics) {
    faithfulness[x.metric] = x.faithfulness;
    if (x.reason) reasons[x.metric] = x.reason;
    for (const [v, auc] of Object.entries(x.robustness)) {
      faithfulness[`${v}_${x.metric}`] = auc;
      const why = x.robustness_reasons?.[v];
      if (why) reasons[`${v}_${x.metric}`] = why;
    }
  }
  const present = m.pool.filter((p) => p.present).length;
  const record: DeploymentMeta = {
    kind: 'lethe-deployment-meta-evaluation',
    version: 1,
    created: m.created,
    pool: { present, absent: m.pool.length - present },
    faithfulness,
    reasons,
  };
  const file = join(dataDir, META_EVALUATION_FILE);
  writeFileAtomic(file, JSON.stringify(record, null, 2) + '\n', { fsync: true });
  return file;
}

/** The deployment's last meta-evaluation, or null when none was recorded. */
export function lastMetaEvaluation(dataDir: string): DeploymentMeta | null {
  const file = join(dataDir, META_EVALUATION_FILE);
  if (!existsSync(file)) return null;
  if (!safeToRead(file, dataDir, 16 * 1024 * 1024))
    throw new LetheError(
      'CONFLICT',
      `${file} is not a regular file of the deployment: remove it or run lethe eval meta --deployment again`,
    );
  const m = JSON.parse(readFileSync(file, 'utf8')) as DeploymentMeta;
  if (m.kind !== 'lethe-deployment-meta-evaluation')
    throw new LetheError('CONFLICT', `${file} is not a meta-evaluation record (kind ${String(m.kind)})`);
  return m;
}

/** One warning per metric the policy reads that the last meta-evaluation found unfaithful or could not rate. */
export function faithfulnessWarnings(policy: Policy, last: DeploymentMeta | null): string[] {
  if (!last)
    return [
      'no meta-evaluation of the metrics is recorded for this deployment: how far each policy metric can be trusted is unknown (lethe eval meta --deployment)',
    ];
  const on = `on the last meta-evaluation (${last.created}, ${last.pool.present} + ${last.pool.absent} models)`;
  const out: string[] = [];
  for (const metric of policyMetrics(policy)) {
    const f = last.faithfulness[metric];
    if (f === undefined) out.push(`${metric} was not part of the last meta-evaluation (${last.created}): its faithfulness is unknown`);
    else if (f === null) out.push(`${metric} has no faithfulness ${on}: ${last.reasons[metric] ?? 'no reason recorded'}`);
    else if (f < FAITHFULNESS_MIN)
      out.push(
        `${metric} had faithfulness ${f.toFixed(3)} ${on}, below ${FAITHFULNESS_MIN}: it separates models with and without the knowledge poorly`,
      );
  }
  return out;
}
