// What an erasure on a registered model means for the models made from it (./lineage.ts). The rule:
// - the request's model is 'released' (the release replaces it);
// - a descendant 'needs-own-request' when the subject's data reached it: its own training data holds
//   a record of the forget set (searched with ./subject-search.ts after its recorded sha256 is
//   checked), or it inherits an affected parent's knowledge (every `how` but distillation, HOWS);
//   a data file that is missing, changed since it was registered or unreadable counts as reached,
//   with that reason (it cannot be shown clean);
// - otherwise it is 'unaffected': e.g. a student distilled from the model on data without the records.
// Forget-role data (an unlearning's forget set) is not searched: it was unlearned, not learned.
// What comes out is names, hashes, statuses and content-free reasons: never a path or a record.
import { existsSync } from 'node:fs';
import { readJsonl } from '../util/jsonl.js';
import { LetheError } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import { confinePath, readConfinedFile } from './confine.js';
import type { Workflow } from './context.js';
import { descendantsOf, findModel, HOWS, readLineage, type How, type LineageData, type LineageModel } from './lineage.js';
import { needlesOf, searchBytes, type Needle } from './subject-search.js';

export type LineageStatus = 'released' | 'needs-own-request' | 'unaffected';
/** What a recorded training file showed: the forget set's records, none, or that it cannot be checked. */
export type DataFinding = 'subject' | 'clean' | 'missing' | 'changed' | 'unreadable';

export interface LineageScopeEntry {
  name: string;
  how: How;
  parents: string[];
  contentSha256: string;
  status: LineageStatus;
  reasons: string[];
  data: { sha256: string; role: LineageData['role']; finding: DataFinding | 'not searched' }[];
}

export interface LineageScope {
  /** The registered model the request names (null: not in the lineage registry, so no descendants are known). */
  model: string | null;
  models: LineageScopeEntry[];
}

/** The fields a row is trained on (text, question, answer), as needles: the forget set's records. */
function forgetNeedles(forgetFile: string): Needle[] {
  const rows = readJsonl<Record<string, unknown>>(forgetFile, { what: 'lineage: forget file' });
  return rows.flatMap((row, i) =>
    needlesOf(Object.fromEntries(['text', 'question', 'answer'].filter((k) => k in row).map((k) => [`row ${i + 1} ${k}`, row[k]]))),
  );
}

function check(w: Workflow, d: LineageData & { path: string }, needles: Needle[]): DataFinding {
  if (!existsSync(d.path)) return 'missing';
  const where = 'lineage';
  let bytes: Buffer;
  try {
    const path = confinePath(d.path, { dataDir: w.dataDir, roots: w.roots }, { where, field: 'data', kind: 'file', anywhere: true });
    bytes = readConfinedFile(path, { where, field: 'data' });
  } catch {
    return 'unreadable';
  }
  if (sha256(bytes) !== d.sha256) return 'changed';
  return searchBytes(where, bytes, needles).length ? 'subject' : 'clean';
}

const short = (sha: string) => `${sha.slice(0, 12)}…`;
const WHY: Record<Exclude<DataFinding, 'clean'>, string> = {
  subject: 'holds records of the forget set',
  missing: 'is missing: it cannot be checked',
  changed: 'has changed since it was registered: it cannot be checked',
  unreadable: 'cannot be read here (not a regular file of yours, or too large): it cannot be checked',
};

/** The lineage part of a release: the request's model (by registered name, else by its folder's
 *  fingerprint) and every descendant, each with its status and why. */
export async function lineageScope(w: Workflow, o: { model: string; modelDir: string; forgetFile: string }): Promise<LineageScope> {
  const all = await readLineage(w.store.db);
  const target = findModel(all, o.model) ?? findModel(all, o.modelDir);
  if (!target) return { model: null, models: [] };
  const needles = forgetNeedles(o.forgetFile);
  if (!needles.length)
    throw new LetheError('BAD_INPUT', 'lineage: the forget file has no text, question or answer of 6 characters or more to search for');
  const affected = new Set([target.name]);
  const entry = (m: LineageModel, status: LineageStatus, reasons: string[], data: LineageScopeEntry['data']): LineageScopeEntry => ({
    name: m.name,
    how: m.how,
    parents: m.parents,
    contentSha256: m.contentSha256,
    status,
    reasons,
    data,
  });
  const models = [entry(target, 'released', ['the model this request unlearned from; the release replaces it'], [])];
  for (const m of descendantsOf(all, target.name)) {
    const reasons: string[] = [];
    const inheritedFrom = HOWS[m.how].inherits ? m.parents.filter((p) => affected.has(p)) : [];
    for (const p of inheritedFrom) reasons.push(`made from ${p} by ${m.how}: inherits its knowledge of the subject`);
    const data = m.data.map((d) => {
      const finding = d.role === 'train' && d.path !== null ? check(w, { ...d, path: d.path }, needles) : ('not searched' as const);
      if (finding !== 'clean' && finding !== 'not searched') reasons.push(`its training data ${short(d.sha256)} ${WHY[finding]}`);
      return { sha256: d.sha256, role: d.role, finding };
    });
    if (reasons.length) {
      affected.add(m.name);
      models.push(entry(m, 'needs-own-request', reasons, data));
      continue;
    }
    const clean = m.data.some((d) => d.role === 'train')
      ? 'its training data holds no record of the forget set'
      : 'no training data of its own';
    const parents = HOWS[m.how].inherits
      ? `its parents (${m.parents.join(', ')}) are unaffected`
      : `made by ${m.how}: it inherits only through its data`;
    models.push(entry(m, 'unaffected', [`${parents}; ${clean}`], data));
  }
  return { model: target.name, models };
}

/** The counts the release's audit entry records. */
export function lineageCounts(s: LineageScope): Record<LineageStatus, number> {
  const n = { released: 0, 'needs-own-request': 0, unaffected: 0 };
  for (const m of s.models) n[m.status]++;
  return n;
}
