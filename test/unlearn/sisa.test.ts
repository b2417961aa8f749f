import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { torch, loadModel } from '../../src/index.js';
import { EnsembleLM } from '../../src/models/ensemble.js';
import { sisaTrain, sisaForget, loadSisaModel, readSisaManifest, recordId, type SisaManifest } from '../../src/unlearn/sisa/index.js';
import { PEOPLE, personText, tinyModel, writeJsonl } from './tiny.js';
import { withTempDir } from '../helpers/tmp.js';

const rows = PEOPLE.flatMap((p, i) => [0, 1, 2].map((k) => ({ person_id: `p${i}`, text: personText(p, i + k) })));
const quiet = () => {};
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const training = { shards: 2, slices: 3, key: 'person_id', epochs: 1, lr: 3e-3, batchSize: 2, seed: 4, report: quiet };

function checkpoints(m: SisaManifest): string[] {
  return m.stages.map((s) => s.checkpoint);
}

test('SISA: forgetting a key retrains one shard from its checkpoint and gives, bit for bit, the ensemble trained without the records', async () => {
  await withTempDir('lethe-sisa-', async (dir) => {
    const model = tinyModel(dir);
    const data = writeJsonl(join(dir, 'data.jsonl'), rows);
    await sisaTrain({ modelDir: model, dataFile: data, outDir: join(dir, 'A'), ...training });
    const a = readSisaManifest(join(dir, 'A'));
    assert.equal(a.records.length, rows.length);
    assert.ok(!readFileSync(join(dir, 'A', 'sisa.json'), 'utf8').includes('lives in'), 'sisa.json holds hashes, not content');
    for (const p of ['p0', 'p1', 'p2', 'p3']) {
      const keyHashes = new Set(a.records.filter((r) => r.key === createHash('sha256').update(p).digest('hex')).map((r) => r.shard));
      assert.equal(keyHashes.size, 1, `every record of ${p} in one shard`);
    }
    assert.deepEqual(new Set(a.records.map((r) => r.shard)), new Set([0, 1]), 'both shards hold records');
    for (const c of checkpoints(a)) assert.ok(existsSync(join(dir, 'A', c, 'model.safetensors')), `checkpoint ${c}`);

    // The victim: a key whose records all sit in slices 1.. of its shard, so retraining starts from a checkpoint.
    const victim = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'].find((p) => {
      const h = createHash('sha256').update(p).digest('hex');
      return a.records.filter((r) => r.key === h).every((r) => r.slice >= 1);
    })!;
    assert.ok(victim, 'the data holds a key without records in slice 0');
    const r = await sisaForget({ dir: join(dir, 'A'), outDir: join(dir, 'B'), key: victim, report: quiet });
    assert.equal(r.removed, 3);
    assert.equal(r.shardsRetrained.length, 1);
    assert.ok(r.stepsRetrained > 0 && r.stepsRetrained < r.stepsFull, `${r.stepsRetrained} of ${r.stepsFull} steps`);

    // From scratch without the victim's rows, in another file order.
    const without = writeJsonl(join(dir, 'without.jsonl'), rows.filter((x) => x.person_id !== victim).reverse());
    await sisaTrain({ modelDir: model, dataFile: without, outDir: join(dir, 'C'), ...training });
    const b = readSisaManifest(join(dir, 'B'));
    const c = readSisaManifest(join(dir, 'C'));
    assert.deepEqual(b.records, c.records);
    assert.deepEqual(b.stages, c.stages);
    assert.deepEqual(b.constituents, c.constituents);
    for (const ck of checkpoints(c)) {
      assert.equal(
        sha(join(dir, 'B', ck, 'model.safetensors')),
        sha(join(dir, 'C', ck, 'model.safetensors')),
        `${ck}: forgotten = trained without`,
      );
    }
    const retrained = r.shardsRetrained[0]!;
    const last = `shard-${retrained}/slice-2/model.safetensors`;
    assert.notEqual(sha(join(dir, 'A', last)), sha(join(dir, 'B', last)), 'the affected constituent changed');
    assert.equal(b.history.length, 1);
    assert.ok(b.history[0]!.fromSlice[String(retrained)]! >= 1, 'retraining started from a checkpoint, not from the base');
    const shardSteps = a.stages.filter((s) => s.shard === retrained).reduce((n, s) => n + s.steps, 0);
    assert.ok(r.stepsRetrained < shardSteps, `fewer steps (${r.stepsRetrained}) than the whole shard took (${shardSteps})`);
    assert.equal(b.history[0]!.stepsRetrained, r.stepsRetrained);

    // The same through --ids: one record as its JSON row, the others by id.
    const victimRows = rows.filter((x) => x.person_id === victim);
    const ids = join(dir, 'ids.txt');
    writeFileSync(ids, [JSON.stringify(victimRows[0]), recordId(victimRows[1]!), recordId(victimRows[2]!)].join('\n') + '\n');
    await sisaForget({ dir: join(dir, 'A'), outDir: join(dir, 'D'), idsFile: ids, report: quiet });
    for (const ck of checkpoints(c))
      assert.equal(sha(join(dir, 'D', ck, 'model.safetensors')), sha(join(dir, 'C', ck, 'model.safetensors')), `${ck} via --ids`);

    // The folder loads as one model: log of the mean of the constituents' probabilities; generation works.
    const baseline = torch.liveTensors();
    const ens = loadSisaModel(join(dir, 'A'));
    assert.ok(ens instanceof EnsembleLM);
    const members = a.constituents.map((m) => loadModel(join(dir, 'A', m)));
    const ids2 = torch.tensor(
      [
        [5, 17, 40, 41],
        [7, 8, 9, 10],
      ],
      { dtype: 'int64' },
    );
    const got = torch.tidy(() => torch.noGrad(() => ens.forward(ids2).logits));
    const want = torch.tidy(() =>
      torch.noGrad(() => {
        const probs = members.map((m) => torch.softmax(m.forward(ids2).logits, -1));
        return torch.log(probs.reduce((s, p) => s.add(p)).div(members.length));
      }),
    );
    const diff = torch.tidy(() => got.sub(want).abs().max().item());
    assert.ok(diff < 1e-5, `ensemble logits = log mean prob (max diff ${diff})`);
    // One step with the ensemble's KV cache = the full forward at that position.
    const step = torch.tidy(() =>
      torch.noGrad(() => {
        const prefix = ens.forward(ids2.narrow(1, 0, 3), { useCache: true });
        const next = ens.forward(ids2.narrow(1, 3, 1), { pastKeyValues: prefix.pastKeyValues!, useCache: true }).logits.select(1, 0);
        return next.sub(got.select(1, 3)).abs().max().item();
      }),
    );
    assert.ok(step < 1e-5, `cached step = full forward (max diff ${step})`);
    const cached = await ens.generate(ids2, { maxNewTokens: 5 });
    const uncached = await ens.generate(ids2, { maxNewTokens: 5, useCache: false });
    assert.deepEqual(cached.toArray(), uncached.toArray(), 'generation with the ensemble KV cache = without it');
    assert.equal(cached.size(1), 9);
    torch.dispose([got, want, ids2, cached, uncached]);
    for (const m of members) m.dispose();
    ens.dispose();
    assert.equal(torch.liveTensors(), baseline, 'the ensemble frees its members');
    assert.throws(() => ens.savePretrained(), /not saved as one Hugging Face folder/);
  });
});

test('SISA: bad input is refused with the file, line and field named', async () => {
  await withTempDir('lethe-sisa-bad-', async (dir) => {
    const model = tinyModel(dir);
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, JSON.stringify(rows[0]) + '\n\n' + JSON.stringify({ text: 'no key here' }) + '\n');
    await assert.rejects(
      () => sisaTrain({ modelDir: model, dataFile: bad, outDir: join(dir, 'x'), ...training }),
      new RegExp(`${bad}:3: no 'person_id' field`),
    );
    writeFileSync(bad, JSON.stringify({ person_id: { a: 1 }, text: 'x' }) + '\n');
    await assert.rejects(
      () => sisaTrain({ modelDir: model, dataFile: bad, outDir: join(dir, 'x'), ...training }),
      new RegExp(`${bad}:1: 'person_id' must be a string or a number`),
    );
    const data = writeJsonl(join(dir, 'data.jsonl'), rows.slice(0, 6));
    await assert.rejects(
      () => sisaTrain({ modelDir: model, dataFile: data, outDir: join(dir, 'x'), ...training, shards: 0 }),
      /'--shards' must be a positive integer, got 0/,
    );
    await assert.rejects(
      () => sisaTrain({ modelDir: model, dataFile: data, outDir: join(model, 'inside'), ...training }),
      /overlaps the base model folder/,
    );
    await sisaTrain({ modelDir: model, dataFile: data, outDir: join(dir, 'A'), ...training, slices: 1 });
    await assert.rejects(
      () => sisaForget({ dir: join(dir, 'A'), outDir: join(dir, 'B'), key: 'nobody', report: quiet }),
      /no record of .* has person_id = "nobody"/,
    );
    await assert.rejects(
      () => sisaForget({ dir: join(dir, 'A'), outDir: join(dir, 'B'), report: quiet }),
      /give --key VALUE or --ids FILE/,
    );
    await assert.rejects(
      () => sisaForget({ dir: join(dir, 'A'), outDir: join(dir, 'A', 'B'), key: 'p0', report: quiet }),
      /overlaps the SISA folder/,
    );
    const ids = join(dir, 'ids.txt');
    writeFileSync(ids, 'a'.repeat(64) + '\n');
    await assert.rejects(
      () => sisaForget({ dir: join(dir, 'A'), outDir: join(dir, 'B'), idsFile: ids, report: quiet }),
      /1 of the 1 records in .* are not in/,
    );
    writeFileSync(ids, 'not an id\n');
    await assert.rejects(
      () => sisaForget({ dir: join(dir, 'A'), outDir: join(dir, 'B'), idsFile: ids, report: quiet }),
      new RegExp(`${ids}:1: expected a record id`),
    );
    // Retraining needs the remaining rows' content: a data file without them is refused.
    const other = writeJsonl(join(dir, 'other.jsonl'), [{ person_id: 'p0', text: 'something else' }]);
    await assert.rejects(
      () => sisaForget({ dir: join(dir, 'A'), outDir: join(dir, 'B'), key: 'p0', dataFile: other, report: quiet }),
      /lacks \d+ records the retrained shards need/,
    );
    assert.ok(!existsSync(join(dir, 'B')), 'nothing is left behind by a refused forget');
    await assert.rejects(() => sisaForget({ dir: model, outDir: join(dir, 'B'), key: 'p0', report: quiet }), /is not a SISA folder/);
  });
});
