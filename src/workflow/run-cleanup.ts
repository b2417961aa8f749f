// What a request leaves behind once it is final: the run's private folder (per-item evaluation
// outputs) and, after a release, the forget data. Each deletion is audited by hashes and counts only.
import { existsSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LetheError } from '../util/errors.js';
import type { EvalEntry, EvalJson, EvalMeta } from '../eval/eval-file.js';
import { sha256File } from '../util/hash.js';
import { confinePath, sha256ConfinedFile } from './confine.js';
import type { Workflow } from './context.js';
import { PROVENANCE_FILE, purgeRecords } from './provenance.js';
import { auditRequestEvent, type RequestView } from './requests.js';
import type { Actor } from './roles.js';

/** What became of one recorded file after a release (audited: hashes and counts, never the path,
 *  which may name the subject, nor the content). */
interface FileDeletion {
  sha256: string;
  rows: number;
  deleted: boolean;
  alreadyAbsent: boolean;
  kept?: string;
}

/** Deletes `path` if it is still a confined regular file (./confine.ts: inside the data folder or an
 *  allowed root, not the deployment's own, its real path the recorded one) with the approved sha256. */
function deleteRecordedFile(w: Workflow, path: string, expected: { sha256: string; rows: number }): FileDeletion {
  const base = { sha256: expected.sha256, rows: expected.rows };
  if (!lstatSync(path, { throwIfNoEntry: false })) return { ...base, deleted: true, alreadyAbsent: true };
  let real: string;
  try {
    real = confinePath(path, { dataDir: w.dataDir, roots: w.roots }, { where: 'release', field: 'forget.path', kind: 'file' });
  } catch {
    return { ...base, deleted: false, alreadyAbsent: false, kept: 'not a regular file inside the data folder or an allowed root' };
  }
  if (real !== resolve(path))
    return { ...base, deleted: false, alreadyAbsent: false, kept: 'the recorded path now leads elsewhere (a symbolic link)' };
  if (sha256ConfinedFile(real, { where: 'release', field: 'forget.path' }) !== expected.sha256)
    return { ...base, deleted: false, alreadyAbsent: false, kept: 'the file no longer has the approved sha256' };
  rmSync(real, { force: true });
  return { ...base, deleted: !existsSync(real), alreadyAbsent: false };
}

/** After a release: the recorded forget file (checked against the approved sha256), the reviewed
 *  proposal's probes beside it (questions about the subject; only when the proposal recorded them,
 *  checked against their sha256), each confined to the data roots and audited with its sha256 in one
 *  'request.forget_data_deleted' entry; then the subject's records in the deployment's provenance
 *  index (`lethe index`). A file that is not confined or does not match is kept, and the entry says
 *  why. Idempotent, so a restarted job may finish it. Returns whether the forget file is gone. */
export async function deleteForgetData(
  w: Workflow,
  actor: Actor,
  requestId: string,
  scope: NonNullable<RequestView['scope']>,
  log: (line: string) => void = () => {},
): Promise<boolean> {
  let deleted = false;
  const recorded = scope.forget.path;
  if (recorded) {
    const forget = deleteRecordedFile(w, recorded, scope.forget);
    const probes = scope.proposal ? deleteRecordedFile(w, join(dirname(recorded), 'probes.jsonl'), scope.proposal.files.probes) : null;
    deleted = forget.deleted;
    await auditRequestEvent(w, actor, requestId, 'request.forget_data_deleted', { ...forget, ...(probes ? { probes } : {}) });
    log(
      `request ${requestId}: forget file ${forget.alreadyAbsent ? 'was already absent' : forget.deleted ? 'deleted' : `kept: ${forget.kept}`}${probes ? `; probes ${probes.alreadyAbsent ? 'already absent' : probes.deleted ? 'deleted' : `kept: ${probes.kept}`}` : ''}`,
    );
  }
  const index = join(w.deployment.dataDir, PROVENANCE_FILE);
  if (scope.proposal && existsSync(index)) {
    const purged = await purgeRecords(index, scope.proposal.recordHashes.forget);
    await auditRequestEvent(w, actor, requestId, 'request.provenance_purged', {
      records: purged,
      proposed: scope.proposal.recordHashes.forget.length,
    });
    log(`request ${requestId}: ${purged} records removed from the provenance index`);
  }
  return deleted;
}

/** Under a run's folder: the evaluations as evaluate() writes them (EVAL.json with each item's input,
 *  reference and generation, per-item values keyed to rows) and their result cache. They are the
 *  subject's data as much as the forget file is: kept only while the request runs, deleted (and
 *  audited) when it is released, fails or is cancelled. Outside it the run keeps aggregates only. */
export const RUN_PRIVATE_DIR = 'private';

export function runPrivateDir(outDir: string): string {
  return join(outDir, RUN_PRIVATE_DIR);
}

/** What a run folder keeps of an evaluation: each metric's aggregate (and why it is missing), and the
 *  metadata without the other models' entries (which carry per-item values) and without the item
 *  sets' descriptions (a file's path, and a user may name a forget file after its subject). */
export function aggregatesOnly(e: EvalJson): { eval: EvalJson; summary: Record<string, number | null> } {
  const out: EvalJson = {};
  const summary: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === '_meta') continue;
    const entry = v as EvalEntry;
    out[k] = { agg_value: entry.agg_value, ...(entry.reason ? { reason: entry.reason } : {}) };
    summary[k] = entry.agg_value;
  }
  const meta = e._meta as EvalMeta | undefined;
  if (meta) {
    const sets = Object.fromEntries(
      Object.entries(meta.sets).map(([name, set]) => [name, { ...set, description: `the run's ${name} set` }]),
    );
    out._meta = { ...meta, sets, retain_results: {}, target_results: {} };
  }
  return { eval: out, summary };
}

/** Deletes a run's private folder (see RUN_PRIVATE_DIR) once its request is final, and audits what
 *  went: the number of files and their sha256s (never names or contents). Nothing to do (and nothing
 *  audited) when there is none, so a restarted job may call it again. Returns the files deleted. */
export async function deleteRunOutputs(
  w: Workflow,
  actor: Actor,
  requestId: string,
  outDir: string,
  log: (line: string) => void = () => {},
): Promise<number> {
  const dir = runPrivateDir(outDir);
  if (!existsSync(dir)) return 0;
  const hashes: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) hashes.push(sha256File(p));
    }
  };
  walk(dir);
  rmSync(dir, { recursive: true, force: true });
  if (existsSync(dir)) throw new LetheError('INTERNAL', `request ${requestId}: the run's private outputs in ${dir} could not be deleted`);
  await auditRequestEvent(w, actor, requestId, 'request.run_outputs_deleted', { files: hashes.length, sha256: hashes.sort() });
  log(`request ${requestId}: the run's per-item evaluation outputs deleted (${hashes.length} files)`);
  return hashes.length;
}
