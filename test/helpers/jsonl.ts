// The rows of a built suite's JSONL file (a BuiltSuite's files map holds the text), checked to end with a newline.
import assert from 'node:assert/strict';

export function jsonlRows<T>(text: string | undefined): T[] {
  assert.ok(typeof text === 'string' && text.endsWith('\n'), 'a JSONL file ending with a newline');
  return text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as T);
}
