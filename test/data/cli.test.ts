// `lethe data build`: deterministic files, a manifest whose sha256s match, seeds that matter,
// and no overwriting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { withTempDir } from '../helpers/tmp.js';
import { runCli } from '../helpers/cli.js';

const lethe = (...args: string[]) => runCli(args);

function hashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

test('lethe data build persona: same seed → byte-identical files; another seed → other people; manifest sha256s match', () => {
  withTempDir('lethe-data-', (dir) => {
    for (const [out, seed] of [
      ['a', '3'],
      ['b', '3'],
      ['c', '4'],
    ] as const) {
      const r = lethe('data', 'build', 'persona', '--out', join(dir, out), '--seed', seed, '--size', 'tiny');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /persona: \d+ files/);
    }
    const a = hashes(join(dir, 'a'));
    assert.deepEqual(hashes(join(dir, 'b')), a);
    const c = hashes(join(dir, 'c'));
    assert.notEqual(c['people.jsonl'], a['people.jsonl']);
    const names = (d: string) =>
      readFileSync(join(dir, d, 'people.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).name as string);
    assert.ok(names('c').filter((n) => names('a').includes(n)).length < names('a').length / 4, 'a different seed gives different people');
    const manifest = JSON.parse(readFileSync(join(dir, 'a', 'manifest.json'), 'utf8'));
    assert.equal(manifest.seed, 3);
    assert.equal(manifest.size, 'tiny');
    assert.ok(manifest.sources.some((s: { licence: string }) => s.licence === 'MIT'));
    for (const f of manifest.files) assert.equal(f.sha256, a[f.path], f.path);
    assert.equal(manifest.files.length, Object.keys(a).length - 1, 'every file but the manifest is listed');
    const again = lethe('data', 'build', 'persona', '--out', join(dir, 'a'), '--size', 'tiny');
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /data build: --out .* is not empty .*pass --overwrite to replace its contents/);
    assert.match(lethe('data', 'build', 'novels', '--out', join(dir, 'x')).stderr, /unknown suite 'novels'/);
    assert.match(lethe('data', 'build', 'persona', '--out', join(dir, 'y'), '--size', 'huge').stderr, /--size must be tiny, small or full/);
  });
});
