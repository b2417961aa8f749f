// A search of a deployment for a subject (the demo's proof after a release, and the erasure tests'):
// every byte of every file under a folder (recursively; the store, its -wal and -shm, job folders,
// caches, checkpoints, logs, certificates), and any text or returned object, for every field of the
// subject's records. Case-insensitive; a file is searched as
// raw bytes, so text inside SQLite pages or any binary is found too. A hit names the place and the
// field, never the value (the report of a leak must not be a leak).
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Needle {
  field: string;
  value: string;
}
export interface Hit {
  where: string;
  field: string;
}

/** One needle per field value (trimmed, at least `min` characters: shorter ones match by chance). */
export function needlesOf(fields: Record<string, unknown>, min = 6): Needle[] {
  const out: Needle[] = [];
  const add = (field: string, v: unknown) => {
    if (typeof v === 'string' && v.trim().length >= min) out.push({ field, value: v.trim() });
    else if (typeof v === 'number' && String(v).length >= min) out.push({ field, value: String(v) });
    else if (Array.isArray(v)) v.forEach((x, i) => add(`${field}[${i}]`, x));
  };
  for (const [k, v] of Object.entries(fields)) add(k, v);
  return out;
}

const lower = (b: Buffer) => b.toString('latin1').toLowerCase();
// A needle as the bytes it has in UTF-8, read back the same way as the haystack (latin1).
const pattern = (n: Needle) => lower(Buffer.from(n.value.toLowerCase(), 'utf8'));

export function searchText(where: string, text: string, needles: Needle[]): Hit[] {
  const hay = lower(Buffer.from(text, 'utf8'));
  return needles.filter((n) => hay.includes(pattern(n))).map((n) => ({ where, field: n.field }));
}

/** A returned object or API reply, as its JSON. */
export function searchValue(where: string, value: unknown, needles: Needle[]): Hit[] {
  return searchText(where, JSON.stringify(value) ?? '', needles);
}

/** Every regular file under `dir` (links are not followed: they are not the deployment's bytes). */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    const st = lstatSync(p);
    return st.isDirectory() ? filesUnder(p) : st.isFile() ? [p] : [];
  });
}

export function searchFiles(dir: string, needles: Needle[]): Hit[] {
  return filesUnder(dir).flatMap((f) => {
    const hay = lower(readFileSync(f));
    return needles.filter((n) => hay.includes(pattern(n))).map((n) => ({ where: f, field: n.field }));
  });
}

/** "FILE: field, field; FILE: field" for an assertion message. */
export function describeHits(hits: Hit[]): string {
  const by = new Map<string, string[]>();
  for (const h of hits) by.set(h.where, [...(by.get(h.where) ?? []), h.field]);
  return [...by].map(([w, f]) => `${w}: ${f.join(', ')}`).join('; ');
}
