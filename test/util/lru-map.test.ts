// The bounded map behind the rate limit, the token cache and SQLite's statements: never more than
// `cap` entries, and the one used least recently (read or written) is the one dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LruMap } from '../../src/util/lru-map.js';

test('an LruMap keeps at most cap entries and drops the least recently used', () => {
  const m = new LruMap<string, number>(3);
  m.set('a', 1);
  m.set('b', 2);
  m.set('c', 3);
  assert.equal(m.get('a'), 1, 'a read makes a the most recently used');
  m.set('d', 4);
  assert.equal(m.size, 3);
  assert.equal(m.get('b'), undefined, 'b, used least recently, went');
  assert.deepEqual(
    ['a', 'c', 'd'].map((k) => m.get(k)),
    [1, 3, 4],
  );
  m.set('c', 30); // a write refreshes too: now a is the oldest
  m.set('e', 5);
  assert.equal(m.get('a'), undefined);
  assert.deepEqual(
    ['c', 'd', 'e'].map((k) => m.get(k)),
    [30, 4, 5],
  );
  m.delete('d');
  assert.equal(m.size, 2);
  m.clear();
  assert.equal(m.size, 0);
  assert.throws(() => new LruMap(0), /cap must be at least 1, got 0/);
});
