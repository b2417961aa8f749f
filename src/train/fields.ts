// Field mapping (`--fields`): data in another common layout loads without rewriting the file —
// prompt/completion (`question=prompt,answer=completion`), instruction/output, or chat `messages`
// (the last user turn is the question, the assistant turn after it the answer).
import { badRow, invalidArgument } from '../util/errors.js';

export interface FieldMap {
  question?: string;
  answer?: string;
  text?: string;
  /** A list of {role, content} chat turns. */
  messages?: string;
}

const TARGETS = ['question', 'answer', 'text', 'messages'] as const;

/** "question=prompt,answer=completion", "text=body", "messages" or "messages=conversation". */
export function parseFieldMap(spec: string, where = 'forget'): FieldMap {
  const map: FieldMap = {};
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [to, from = to === 'messages' ? 'messages' : undefined] = part.split('=').map((s) => s.trim());
    if (!TARGETS.includes(to as (typeof TARGETS)[number]) || !from)
      throw invalidArgument(where, '--fields', 'question=FIELD,answer=FIELD, text=FIELD or messages[=FIELD]', spec);
    map[to as keyof FieldMap] = from;
  }
  if (!Object.keys(map).length)
    throw invalidArgument(where, '--fields', 'question=FIELD,answer=FIELD, text=FIELD or messages[=FIELD]', spec);
  if (map.messages && (map.question || map.answer || map.text))
    throw invalidArgument(where, '--fields', 'messages alone (the turns give the question and the answer)', spec);
  return map;
}

/** A row with Lethe's field names, from a row in the mapped layout (other fields kept as they are). */
export function mapFields(row: Record<string, unknown>, map: FieldMap, file: string, line: number): Record<string, unknown> {
  if (map.messages) {
    const turns = row[map.messages];
    const ok =
      Array.isArray(turns) && turns.every((t) => t && typeof t === 'object' && typeof t.role === 'string' && typeof t.content === 'string');
    const list = ok ? (turns as { role: string; content: string }[]) : [];
    const lastOf = (role: string, before: number) => {
      for (let k = before - 1; k >= 0; k--) if (list[k]!.role === role) return k;
      return -1;
    };
    const a = lastOf('assistant', list.length);
    const q = a < 0 ? -1 : lastOf('user', a);
    if (!ok || a < 0 || q < 0)
      throw badRow(file, line, map.messages, 'a list of {"role","content"} turns with a user turn, then an assistant turn', turns);
    return { ...row, question: list[q]!.content, answer: list[a]!.content };
  }
  const out = { ...row };
  for (const to of ['question', 'answer', 'text'] as const) {
    const from = map[to];
    if (from !== undefined) out[to] = row[from];
  }
  return out;
}
