// A search for a subject: of a deployment (the demo's proof after a release, and the erasure tests'),
// and of the data files a registered model was trained on (an erasure's lineage, ./lineage-scope.ts):
// every byte of every file under a folder (recursively; the store, its -wal and -shm, job folders,
// caches, checkpoints, logs, certificates), and any text or returned object, for every field of the
// subject's records. Case-insensitive; a file is searched as raw bytes, so text inside SQLite pages or
// any binary is found too, in the spellings JSON gives it. A hit names the place and the field, never
// the value (the report of a leak must not be a leak).
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
const bytesOf = (s: string) => lower(Buffer.from(s, 'utf8'));
/** A needle's spellings, as bytes read back the same way as the haystack (latin1, lower case): its
 *  UTF-8 text, and as it stands inside a JSON string (data files are JSON Lines): quotes, backslashes
 *  and line breaks escaped, and with non-ASCII letters as \uXXXX (Python's json.dumps default). */
function patterns(n: Needle): string[] {
  const v = n.value.toLowerCase();
  const json = JSON.stringify(v).slice(1, -1);
  const ascii = json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return [...new Set([bytesOf(v), bytesOf(json), bytesOf(ascii)])];
}

/** The needles found in some bytes (a file's, a text's), as hits at `where`. */
export function searchBytes(where: string, bytes: Buffer, needles: Needle[]): Hit[] {
  const hay = lower(bytes);
  return needles.filter((n) => patterns(n).some((p) => hay.includes(p))).map((n) => ({ where, field: n.field }));
}

export function searchText(where: string, text: string, needles: Needle[]): Hit[] {
  return searchBytes(where, Buffer.from(text, 'utf8'), needles);
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
  return filesUnder(dir).flatMap((f) => searchBytes(f, readFileSync(f), needles));
}

/** "FILE: field, field; FILE: field" for an assertion message. */
export function describeHits(hits: Hit[]): string {
  const by = new Map<string, string[]>();
  for (const h of hits) by.set(h.where, [...(by.get(h.where) ?? []), h.field]);
  return [...by].map(([w, f]) => `${w}: ${f.join(', ')}`).join('; ');
}
