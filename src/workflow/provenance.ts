// Provenance: where a subject appears in the training corpus. `buildIndex` puts every JSONL record
// (source file, line, sha256 of its canonical JSON, its text) in a SQLite FTS5 index of its own —
// it holds corpus text, which the company keeps anyway as training data, and is never the workflow
// store. `proposeForgetSet` finds the records that mention a subject and writes a proposal for a
// reviewer: forget.jsonl, probes.jsonl, neighbours.jsonl and proposal.json (counts, file and record
// hashes only: what the workflow store may record).
//
// Matching, strongest kind first (a record keeps its strongest kind):
// - exact:      the full name as an FTS5 phrase (token sequence; case and diacritics folded)
// - alias:      each alias as a phrase
// - identifier: each identifier (e-mail, phone, account id) as a phrase of its tokens, confirmed by a
//               case-insensitive substring test on the record text (so "ada@example.org" does not
//               match "ada example org"); phone numbers written differently are not matched
// - near:       every name token within 3 tokens of each other (FTS5 NEAR), any order: "Lovelace, Ada",
//               "Ada Q. Lovelace"
// - fuzzy:      the name tokens, each replaced by itself or any index term within Levenshtein
//               distance 1 (tokens of 4–7 letters) or 2 (8+ letters) sharing its first letter, again
//               NEAR/3: "Ada Lovelase". Tokens of 3 letters or less are matched exactly.
// forget.jsonl and neighbours.jsonl are data files `lethe unlearn` reads (one layout each; extra
// `provenance` member per row: source, line, sha256, kind, match or reason).
// Neighbours (to keep): namesakes — records holding the surname (the last name token) but not the
// subject — then records most similar in form (bm25 over a forget record's other words), excluding
// every forget record.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { LetheError } from '../util/errors.js';
import { readRows, type DataRow } from '../train/examples.js';
import { DEFAULT_QA_TEMPLATE } from '../train/prompt.js';
import { writeFileAtomic } from '../util/atomic.js';
import { canonicalJson, sha256, sha256File } from '../util/hash.js';
import { readJsonl, writeJsonl } from '../util/jsonl.js';
import { parseInput } from './inputs.js';

type SqliteDb = import('better-sqlite3').Database;

export const MATCH_KINDS = ['exact', 'alias', 'identifier', 'near', 'fuzzy'] as const;
export type MatchKind = (typeof MATCH_KINDS)[number];

export const SubjectInput = z.strictObject({
  name: z.string().trim().min(1).max(512),
  aliases: z.array(z.string().trim().min(1).max(512)).max(100).default([]),
  identifiers: z.array(z.string().trim().min(1).max(512)).max(100).default([]),
});
export type Subject = z.input<typeof SubjectInput>;

export const PROVENANCE_FILE = 'provenance.db';

/** The sha256 of a record: of its canonical JSON (key order and whitespace do not matter). */
export function recordHash(row: DataRow): string {
  return sha256(canonicalJson(row));
}

/** The text a record is searched by: its text, or question and answer. */
function recordText(row: DataRow): string {
  return typeof row.question === 'string' ? `${row.question}\n${row.answer as string}` : (row.text as string);
}

/** Tokens as FTS5's unicode61 tokenizer (remove_diacritics 2) sees them, near enough for names. */
export function tokens(s: string): string[] {
  return s
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

const phrase = (toks: string[]) => `"${toks.join(' ')}"`;

async function openSqlite(file: string, readonly: boolean): Promise<SqliteDb> {
  const { default: Database } = await import('better-sqlite3');
  return new Database(file, { readonly, fileMustExist: readonly });
}

export interface IndexSummary {
  path: string;
  records: number;
  files: { source: string; records: number; sha256: string }[];
}

/**
 * Indexes JSONL files ({"text"} or {"question","answer"} rows) into `out` (default
 * DATADIR/provenance.db), replacing any index there.
 */
export async function buildIndex(o: { data: string[]; dataDir?: string; out?: string }): Promise<IndexSummary> {
  if (!o.data.length) throw new LetheError('BAD_INPUT', "index: '--data' must name at least one JSONL file");
  const out = resolve(
    o.out ??
      join(
        o.dataDir ??
          (() => {
            throw new LetheError('BAD_INPUT', "index: give '--out' or '--data-dir'");
          })(),
        PROVENANCE_FILE,
      ),
  );
  const parsed = o.data.map((path) => {
    const { rows, lines } = readRows(path, 'index data'); // validates every row, naming file and line
    return { source: resolve(path), sha256: sha256File(path), rows: rows.map((row, k) => ({ line: lines[k]!, row })) };
  });
  mkdirSync(dirname(out), { recursive: true });
  for (const f of [out, `${out}-wal`, `${out}-shm`, `${out}-journal`]) rmSync(f, { force: true });
  const db = await openSqlite(out, false);
  try {
    db.exec(`
      create table records (id integer primary key, source text not null, line integer not null, kind text not null, hash text not null, json text not null, text text not null);
      create index records_hash on records(hash);
      create virtual table records_fts using fts5(text, content='records', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
      create virtual table records_vocab using fts5vocab(records_fts, 'row');
      create table sources (source text primary key, sha256 text not null, records integer not null);`);
    const ins = db.prepare('insert into records (source, line, kind, hash, json, text) values (?, ?, ?, ?, ?, ?)');
    const fts = db.prepare('insert into records_fts (rowid, text) values (?, ?)');
    const src = db.prepare('insert into sources (source, sha256, records) values (?, ?, ?)');
    db.transaction(() => {
      for (const f of parsed) {
        for (const { line, row } of f.rows) {
          const text = recordText(row);
          const id = ins.run(
            f.source,
            line,
            typeof row.question === 'string' ? 'qa' : 'text',
            recordHash(row),
            JSON.stringify(row),
            text,
          ).lastInsertRowid;
          fts.run(id, text);
        }
        src.run(f.source, f.sha256, f.rows.length);
      }
    })();
  } finally {
    db.close();
  }
  return {
    path: out,
    records: parsed.reduce((n, f) => n + f.rows.length, 0),
    files: parsed.map((f) => ({ source: f.source, records: f.rows.length, sha256: f.sha256 })),
  };
}

/** Levenshtein distance, stopping early once it exceeds `max`. */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, cur[j]!);
    }
    if (best > max) return max + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

const fuzzBudget = (t: string) => (t.length >= 8 ? 2 : t.length >= 4 ? 1 : 0);

export interface IndexedRecord {
  id: number;
  source: string;
  line: number;
  kind: 'text' | 'qa';
  sha256: string;
  row: DataRow;
}
export interface Hit extends IndexedRecord {
  match: MatchKind;
  via: string;
}
export interface Neighbour extends IndexedRecord {
  reason: 'namesake' | 'similar';
}
export interface Probe {
  question: string;
  answer?: string;
  source: 'corpus' | 'template';
  sha256?: string;
}

export interface ProposalSummary {
  dir: string;
  counts: { forget: number; probes: number; neighbours: number; byMatch: Record<MatchKind, number>; namesakes: number };
  files: Record<'forget' | 'probes' | 'neighbours', { sha256: string; rows: number }>;
  /** sha256 of each record's canonical JSON, sorted. */
  recordHashes: { forget: string[]; neighbours: string[] };
}

/** Templated questions about a subject, for a text-only corpus or for probing a model. */
export const PROBE_TEMPLATES = [
  'Who is {name}?',
  'Where does {name} live?',
  'When was {name} born?',
  'What does {name} do for a living?',
  'What is {name} known for?',
  "Who are the members of {name}'s family?",
  'How can {name} be contacted?',
];

export function templatedQuestions(name: string): string[] {
  return PROBE_TEMPLATES.map((t) => t.replaceAll('{name}', name.trim()));
}

/**
 * Finds every record of the index that mentions the subject, proposes probes and a neighbour set,
 * and writes them to `outDir` for a reviewer. `neighbours` caps the similar-in-form neighbours (default:
 * twice the forget set).
 */
export async function proposeForgetSet(
  indexPath: string,
  subjectBody: unknown,
  o: { outDir: string; neighbours?: number },
): Promise<ProposalSummary> {
  const subject = parseInput('propose', SubjectInput, subjectBody);
  if (!existsSync(indexPath))
    throw new LetheError('NOT_FOUND', `propose: index ${indexPath} does not exist (build it with \`lethe index\`)`);
  const db = await openSqlite(indexPath, true);
  try {
    const getRec = db.prepare<
      [number],
      { id: number; source: string; line: number; kind: 'text' | 'qa'; hash: string; json: string; text: string }
    >('select * from records where id = ?');
    const record = (id: number): IndexedRecord & { text: string } => {
      const r = getRec.get(id)!;
      return { id: r.id, source: r.source, line: r.line, kind: r.kind, sha256: r.hash, row: JSON.parse(r.json) as DataRow, text: r.text };
    };
    const search = db.prepare<[string], { id: number }>('select rowid as id from records_fts where records_fts match ? order by rowid');
    const ids = (query: string) => search.all(query).map((r) => r.id);
    const hits = new Map<number, Hit>();
    const add = (id: number, match: MatchKind, via: string) => {
      if (!hits.has(id)) hits.set(id, { ...strip(record(id)), match, via });
    };

    const nameToks = tokens(subject.name);
    if (!nameToks.length) throw new LetheError('BAD_INPUT', "propose: 'name' holds no letters or digits");
    for (const id of ids(phrase(nameToks))) add(id, 'exact', 'name');
    subject.aliases.forEach((a, k) => {
      const t = tokens(a);
      if (t.length) for (const id of ids(phrase(t))) add(id, 'alias', `aliases[${k}]`);
    });
    subject.identifiers.forEach((s, k) => {
      const t = tokens(s);
      const needle = s.toLowerCase();
      if (t.length)
        for (const id of ids(phrase(t))) if (record(id).text.toLowerCase().includes(needle)) add(id, 'identifier', `identifiers[${k}]`);
    });
    if (nameToks.length > 1) {
      for (const id of ids(`NEAR(${nameToks.map((t) => phrase([t])).join(' ')}, 3)`)) add(id, 'near', 'name');
      const vocab = db.prepare<[string], { term: string }>('select term from records_vocab where substr(term, 1, 1) = ?');
      const variants = nameToks.map((t) => {
        const budget = fuzzBudget(t);
        if (!budget) return [t];
        const near = vocab
          .all(t[0]!)
          .map((r) => r.term)
          .filter((v) => v !== t && editDistance(v, t, budget) <= budget);
        return [t, ...near];
      });
      if (variants.some((v) => v.length > 1)) {
        // FTS5's NEAR takes phrases, not OR groups: expand the (small) cross product.
        let combos: string[][] = [[]];
        for (const v of variants) combos = combos.flatMap((c) => v.map((x) => [...c, x])).slice(0, 256);
        for (const c of combos) for (const id of ids(`NEAR(${c.map((x) => phrase([x])).join(' ')}, 3)`)) add(id, 'fuzzy', c.join(' '));
      }
    }
    const forget = [...hits.values()].sort((a, b) => a.id - b.id);
    const forgetIds = new Set(forget.map((h) => h.id));

    // Probes: the QA rows that mention the subject, else templated questions.
    const qa = forget.filter((h) => h.kind === 'qa');
    const probes: Probe[] = qa.length
      ? qa.map((h) => ({ question: h.row.question!, answer: h.row.answer!, source: 'corpus', sha256: h.sha256 }))
      : templatedQuestions(subject.name).map((q) => ({ question: q, source: 'template' }));

    // Neighbours: namesakes, then records similar in form.
    const neighbours = new Map<number, Neighbour>();
    const surname = nameToks.length > 1 ? nameToks[nameToks.length - 1]! : null;
    if (surname)
      for (const id of ids(phrase([surname]))) if (!forgetIds.has(id)) neighbours.set(id, { ...strip(record(id)), reason: 'namesake' });
    const namesakes = neighbours.size;
    const cap = o.neighbours ?? Math.max(2 * forget.length, 4);
    const mentioned = new Set([...nameToks, ...subject.aliases.flatMap(tokens), ...subject.identifiers.flatMap(tokens)]);
    const ranked = db.prepare<[string], { id: number }>(
      'select rowid as id from records_fts where records_fts match ? order by bm25(records_fts), rowid limit 50',
    );
    let similar = 0;
    outer: for (const h of forget) {
      const words = [...new Set(tokens(recordText(h.row)).filter((t) => t.length > 3 && !mentioned.has(t)))].slice(0, 12);
      if (!words.length) continue;
      for (const { id } of ranked.all(words.map((w) => phrase([w])).join(' OR '))) {
        if (similar >= cap) break outer;
        if (forgetIds.has(id) || neighbours.has(id)) continue;
        neighbours.set(id, { ...strip(record(id)), reason: 'similar' });
        similar++;
      }
    }
    const neigh = [...neighbours.values()];

    mkdirSync(o.outDir, { recursive: true });
    const prov = (r: IndexedRecord) => ({ source: r.source, line: r.line, sha256: r.sha256, kind: r.kind });
    const files = {
      forget: writeJsonl(
        join(o.outDir, 'forget.jsonl'),
        oneLayout(forget).map((h) => ({ ...h.row, provenance: { ...prov(h), match: h.match, via: h.via } })),
      ),
      probes: writeJsonl(join(o.outDir, 'probes.jsonl'), probes),
      neighbours: writeJsonl(
        join(o.outDir, 'neighbours.jsonl'),
        oneLayout(neigh).map((n) => ({ ...n.row, provenance: { ...prov(n), reason: n.reason } })),
      ),
    };
    const byMatch = Object.fromEntries(MATCH_KINDS.map((k) => [k, forget.filter((h) => h.match === k).length])) as Record<
      MatchKind,
      number
    >;
    const summary: ProposalSummary = {
      dir: resolve(o.outDir),
      counts: { forget: forget.length, probes: probes.length, neighbours: neigh.length, byMatch, namesakes },
      files,
      recordHashes: {
        forget: [...new Set(forget.map((h) => h.sha256))].sort(),
        neighbours: [...new Set(neigh.map((n) => n.sha256))].sort(),
      },
    };
    // proposal.json: what the workflow store may hold — counts and hashes, no names, no text.
    const { dir: _, ...manifest } = summary;
    writeFileAtomic(join(o.outDir, 'proposal.json'), JSON.stringify(manifest, null, 2) + '\n');
    return summary;
  } finally {
    db.close();
  }
}

/**
 * A data file holds one layout (readRows refuses a mix): when text and QA records are mixed, each QA
 * record is written as the text it was trained on (DEFAULT_QA_TEMPLATE filled in). Its provenance
 * keeps the original record's sha256 and kind; probes.jsonl keeps the QA form.
 */
function oneLayout<T extends IndexedRecord>(records: T[]): T[] {
  if (new Set(records.map((r) => r.kind)).size < 2) return records;
  return records.map((r) =>
    r.kind === 'qa'
      ? { ...r, row: { text: DEFAULT_QA_TEMPLATE.replace('{question}', r.row.question!).replace('{answer}', r.row.answer!) } }
      : r,
  );
}

function strip<T extends { text: string }>(r: T): Omit<T, 'text'> {
  const { text: _, ...rest } = r;
  return rest;
}

/** The store-safe summary of a proposal folder (counts, file and record hashes), re-hashing its files. */
export function readProposal(dir: string): Omit<ProposalSummary, 'dir'> {
  const path = join(dir, 'proposal.json');
  if (!existsSync(path)) throw new LetheError('NOT_FOUND', `proposal ${dir}: no proposal.json (write one with \`lethe propose\`)`);
  const m = JSON.parse(readFileSync(path, 'utf8')) as Omit<ProposalSummary, 'dir'>;
  for (const k of ['forget', 'probes', 'neighbours'] as const) {
    const f = join(dir, `${k}.jsonl`);
    const bytes = readFileSync(f);
    const rows = bytes
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim()).length;
    const h = sha256(bytes);
    // A reviewer may drop rows: the store records what the files hold now.
    if (h !== m.files[k].sha256) m.files[k] = { sha256: h, rows };
    if (k !== 'probes') {
      type Prov = { sha256?: string; match?: MatchKind; reason?: string };
      const provs = readJsonl(f, {
        what: 'proposal',
        allowEmpty: true,
        validate: (row) => (row as { provenance?: Prov } | null)?.provenance,
      });
      if (provs.some((p) => typeof p?.sha256 !== 'string'))
        throw new LetheError('BAD_INPUT', `proposal ${f}: every row needs provenance.sha256`);
      m.recordHashes[k] = [...new Set(provs.map((p) => p!.sha256!))].sort();
      if (k === 'forget') {
        m.counts.forget = rows;
        m.counts.byMatch = Object.fromEntries(MATCH_KINDS.map((x) => [x, provs.filter((p) => p!.match === x).length])) as Record<
          MatchKind,
          number
        >;
      } else {
        m.counts.neighbours = rows;
        m.counts.namesakes = provs.filter((p) => p!.reason === 'namesake').length;
      }
    } else m.counts.probes = rows;
  }
  return m;
}

/**
 * Removes records (by sha256) from a provenance index after their subject's erasure: from the table
 * and the full-text index, then merges FTS5's segments and VACUUMs, so that no page of the file
 * keeps their text. Returns how many records went. The corpus files themselves are the user's and
 * are not touched; `sources` keeps their original hashes (the index now differs from them).
 */
export async function purgeRecords(indexPath: string, hashes: readonly string[]): Promise<number> {
  if (!existsSync(indexPath)) throw new LetheError('NOT_FOUND', `provenance index ${indexPath} does not exist`);
  const db = await openSqlite(indexPath, false);
  try {
    const find = db.prepare<[string], { id: number; text: string }>('select id, text from records where hash = ?');
    const unindex = db.prepare("insert into records_fts (records_fts, rowid, text) values ('delete', ?, ?)");
    const remove = db.prepare('delete from records where id = ?');
    let n = 0;
    db.transaction(() => {
      for (const h of new Set(hashes)) {
        for (const r of find.all(h)) {
          unindex.run(r.id, r.text);
          remove.run(r.id);
          n++;
        }
      }
      db.exec("insert into records_fts (records_fts) values ('optimize')");
    })();
    db.exec('vacuum');
    return n;
  } finally {
    db.close();
  }
}
