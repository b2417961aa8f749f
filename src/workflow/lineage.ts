// Model lineage: which registered model was made from which, how, and from what data. A model is
// identified by its registered name (unique, never reused); the row also keeps the folder's path and
// fingerprint when registered (util/model-fingerprint.ts), so a folder can be looked up by its
// content. Data files are recorded by sha256 and, training data, by path (never read into the store). Each registration
// is one audit entry committing to its row (./audit-rows.ts), so a lineage edited outside the
// workflow fails `audit verify`. What an erasure makes of the lineage: ./lineage-scope.ts.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { LetheError } from '../util/errors.js';
import { modelFingerprint } from '../util/model-fingerprint.js';
import { appendAudit, lockForWrite } from './audit.js';
import { lineageRowDigest } from './audit-rows.js';
import { confinePath, sha256ConfinedFile } from './confine.js';
import type { Db, Workflow } from './context.js';
import { parseInput } from './inputs.js';
import { authorize, type Actor } from './roles.js';
import type { LineageTable } from './store/schema.js';

/** How a model was made from its parents, and whether it carries their knowledge (see README,
 *  "Model lineage"): every way of making a model from another's weights keeps what those weights
 *  know; a distilled student starts elsewhere and learns only what the teacher says about the
 *  distillation data, so it is affected only through that data. */
export const HOWS = {
  base: { inherits: false, what: 'a model with no registered parent' },
  finetune: { inherits: true, what: 'fine-tuned from the parent' },
  unlearning: { inherits: true, what: 'unlearned from the parent (lethe forget, sisa forget)' },
  lora: { inherits: true, what: 'LoRA adapters trained on the parent (an adapter folder or merged into it)' },
  merge: { inherits: true, what: 'weights merged from the parents' },
  quantization: { inherits: true, what: "a quantized copy of the parent's weights" },
  distillation: { inherits: false, what: 'a student trained on the teacher’s outputs over the distillation data' },
  sisa: { inherits: true, what: 'a SISA ensemble trained from the parent' },
} as const;
export type How = keyof typeof HOWS;
export const HOW_NAMES = Object.keys(HOWS) as How[];

export const DATA_ROLES = ['train', 'forget'] as const;
export type DataRole = (typeof DATA_ROLES)[number];

export interface LineageData {
  /** Where it lay (train data: searched by an erasure). Null for forget data: never read again,
   *  and a forget file's name may name the person. */
  path: string | null;
  sha256: string;
  /** train: learned from; forget: unlearned (an unlearning's forget set). */
  role: DataRole;
}

export interface LineageModel {
  name: string;
  path: string;
  contentSha256: string;
  how: How;
  parents: string[];
  data: LineageData[];
  details: Record<string, string | number | boolean>;
  registeredBy: string;
  registeredAt: string;
}

const modelName = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[\w.@:+-]+$/, 'letters, digits and . _ @ : + - (no spaces or slashes)');

export const RegisterInput = z.strictObject({
  name: modelName,
  /** The model folder (config.json and weights, a PEFT adapter folder, a SISA folder). */
  modelDir: z.string().min(1).max(4096),
  how: z.enum(HOW_NAMES as [How, ...How[]]),
  parents: z.array(modelName).max(64).default([]),
  data: z
    .array(z.strictObject({ path: z.string().min(1).max(4096), role: z.enum(DATA_ROLES).default('train') }))
    .max(1000)
    .default([]),
  details: z.record(z.string(), z.union([z.string().max(500), z.number(), z.boolean()])).default({}),
});
export type RegisterInput = z.input<typeof RegisterInput>;

function fromRow(r: LineageTable): LineageModel {
  return {
    name: r.name,
    path: r.path,
    contentSha256: r.content_sha256,
    how: r.how as How,
    parents: JSON.parse(r.parents_json) as string[],
    data: JSON.parse(r.data_json) as LineageData[],
    details: JSON.parse(r.details_json) as LineageModel['details'],
    registeredBy: r.registered_by,
    registeredAt: r.registered_at,
  };
}

/** Records a model, its parents and data (the local operator's command and the training commands'
 *  `--register`). Parents must be registered already; a name is registered once. */
export async function registerModel(w: Workflow, actor: Actor, body: unknown): Promise<LineageModel> {
  authorize(actor, 'model.register');
  const input = parseInput('register', RegisterInput, body);
  const parents = [...new Set(input.parents)].sort();
  if (input.how === 'base' && parents.length)
    throw new LetheError('BAD_INPUT', `register ${input.name}: a 'base' model has no parent; give '--how' (${HOW_NAMES.join(', ')})`);
  if (input.how !== 'base' && !parents.length)
    throw new LetheError(
      'BAD_INPUT',
      `register ${input.name}: '--how ${input.how}' needs '--parent NAME' (the registered model it was made from)`,
    );
  if (parents.includes(input.name)) throw new LetheError('BAD_INPUT', `register ${input.name}: a model cannot be its own parent`);
  if (input.how !== 'unlearning' && input.data.some((d) => d.role === 'forget'))
    throw new LetheError('BAD_INPUT', `register ${input.name}: forget data goes with '--how unlearning' only`);
  // The local operator's paths, read here: anywhere but the deployment's own files.
  const roots = { dataDir: w.dataDir, roots: w.roots };
  const where = `register ${input.name}`;
  const dir = confinePath(resolve(input.modelDir), roots, { where, field: 'model', kind: 'folder', anywhere: true });
  const data = input.data.map((d, i) => {
    const path = confinePath(resolve(d.path), roots, { where, field: `data[${i}]`, kind: 'file', anywhere: true });
    return { path: d.role === 'train' ? path : null, sha256: sha256ConfinedFile(path, { where, field: `data[${i}]` }), role: d.role };
  });
  const row: LineageTable = {
    name: input.name,
    path: dir,
    content_sha256: modelFingerprint(dir).sha256,
    how: input.how,
    parents_json: JSON.stringify(parents),
    data_json: JSON.stringify(data),
    details_json: JSON.stringify(input.details),
    registered_by: actor.name,
    registered_at: w.now().toISOString(),
  };
  await w.store.db.transaction().execute(async (trx) => {
    await lockForWrite(trx, w.store.dialect);
    if (await trx.selectFrom('lineage').select('name').where('name', '=', input.name).executeTakeFirst())
      throw new LetheError('CONFLICT', `register ${input.name}: the name is registered already (names are never reused; pick another)`);
    if (parents.length) {
      const found = new Set((await trx.selectFrom('lineage').select('name').where('name', 'in', parents).execute()).map((r) => r.name));
      const missing = parents.filter((p) => !found.has(p));
      if (missing.length)
        throw new LetheError('NOT_FOUND', `register ${input.name}: parent ${missing.join(', ')} is not registered (register it first)`);
    }
    await trx.insertInto('lineage').values(row).execute();
    // Hashes, names and roles only: a data file's path may name a person.
    await appendAudit(
      trx,
      w,
      {
        actor: actor.name,
        action: 'model.register',
        details: {
          model: row.name,
          how: row.how,
          parents,
          contentSha256: row.content_sha256,
          data: data.map((d) => ({ sha256: d.sha256, role: d.role })),
          row: lineageRowDigest(row),
        },
      },
      row.registered_at,
    );
  });
  return fromRow(row);
}

/** Every registered model, by name. */
export async function readLineage(db: Db): Promise<Map<string, LineageModel>> {
  const rows = await db.selectFrom('lineage').selectAll().orderBy('name').execute();
  return new Map(rows.map((r) => [r.name, fromRow(r)]));
}

/** The registered model by its name, or by the fingerprint of a folder (when `model` is one). Null
 *  when neither is registered; CONFLICT when several names hold the folder's content. */
export function findModel(all: Map<string, LineageModel>, model: string): LineageModel | null {
  const byName = all.get(model);
  if (byName) return byName;
  if (!existsSync(model) || !statSync(model).isDirectory()) return null;
  const sha = modelFingerprint(model).sha256;
  const same = [...all.values()].filter((m) => m.contentSha256 === sha);
  if (same.length > 1)
    throw new LetheError(
      'CONFLICT',
      `lineage: the folder ${model} is registered as ${same.map((m) => m.name).join(', ')}; name the one you mean`,
    );
  return same[0] ?? null;
}

/** Every model made from `name`, directly or not, parents before children (ties by name). */
export function descendantsOf(all: Map<string, LineageModel>, name: string): LineageModel[] {
  const children = new Map<string, string[]>();
  for (const m of all.values()) for (const p of m.parents) children.set(p, [...(children.get(p) ?? []), m.name]);
  const seen = new Set<string>();
  const visit = (n: string) => {
    for (const c of children.get(n) ?? [])
      if (!seen.has(c)) {
        seen.add(c);
        visit(c);
      }
  };
  visit(name);
  return topological(all, seen);
}

/** Every model `name` was made from, directly or not, parents before children. */
export function ancestorsOf(all: Map<string, LineageModel>, name: string): LineageModel[] {
  const seen = new Set<string>();
  const visit = (n: string) => {
    for (const p of all.get(n)?.parents ?? [])
      if (!seen.has(p)) {
        seen.add(p);
        visit(p);
      }
  };
  visit(name);
  return topological(all, seen);
}

function topological(all: Map<string, LineageModel>, names: Set<string>): LineageModel[] {
  const out: LineageModel[] = [];
  const placed = new Set<string>();
  const place = (n: string) => {
    if (placed.has(n)) return;
    placed.add(n);
    for (const p of all.get(n)!.parents) if (names.has(p)) place(p);
    out.push(all.get(n)!);
  };
  for (const n of [...names].sort()) place(n);
  return out;
}

export interface LineageView {
  model: LineageModel;
  ancestors: LineageModel[];
  descendants: LineageModel[];
}

/** A model's lineage (by name, or by a folder's fingerprint unless `byName`: a remote caller must not
 *  probe the server's files): what it was made from and what was made from it. */
export async function lineageOf(w: Workflow, actor: Actor, model: string, o: { byName?: boolean } = {}): Promise<LineageView> {
  authorize(actor, 'request.read');
  const all = await readLineage(w.store.db);
  const m = o.byName ? (all.get(model) ?? null) : findModel(all, model);
  if (!m)
    throw new LetheError(
      'NOT_FOUND',
      `lineage: '${model}' is not a registered model ${o.byName ? 'name' : 'name or folder'} (see \`lethe register\`)`,
    );
  return { model: m, ancestors: ancestorsOf(all, m.name), descendants: descendantsOf(all, m.name) };
}

/** The lineage as an indented tree from each root, the model marked with '*': its ancestors and its descendants. */
export function formatLineage(v: LineageView): string {
  const shown = new Set([v.model.name, ...v.ancestors.map((m) => m.name), ...v.descendants.map((m) => m.name)]);
  const byName = new Map([v.model, ...v.ancestors, ...v.descendants].map((m) => [m.name, m]));
  const lines: string[] = [];
  const line = (m: LineageModel, prefix: string, branch: string) => {
    const data = m.data.map((d) => `${d.role} ${d.sha256.slice(0, 12)}…`).join(', ');
    const mark = m.name === v.model.name ? '* ' : '';
    lines.push(`${prefix}${branch}${mark}${m.name}  (${m.how}${data ? `; data ${data}` : ''})  ${m.contentSha256.slice(0, 12)}…`);
  };
  const walk = (m: LineageModel, prefix: string, last: boolean, root: boolean) => {
    line(m, prefix, root ? '' : last ? '└─ ' : '├─ ');
    const kids = [...byName.values()]
      .filter((c) => c.parents.includes(m.name) && shown.has(c.name))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    const next = root ? '' : prefix + (last ? '   ' : '│  ');
    kids.forEach((c, i) => walk(c, next, i === kids.length - 1, false));
  };
  const roots = [...byName.values()].filter((m) => !m.parents.some((p) => shown.has(p)));
  for (const r of roots) walk(r, '', true, true);
  return lines.join('\n');
}
