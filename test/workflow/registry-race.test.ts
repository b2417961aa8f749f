// Two releases of one model name at once: the one that records second finds its version taken
// (insertModelVersion refuses it) and withNextVersion numbers it again. The race is made
// deterministic by recording the other release inside the first attempt, between numbering and recording.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createRequest } from '../../src/workflow/requests.js';
import { insertModelVersion, listModelVersions, VersionTakenError, withNextVersion } from '../../src/workflow/registry.js';
import { alice, createBody, runner } from './fixtures.js';
import { closeStores, freshWorkflow, STORE_KINDS, storeOptions, type TestWorkflow } from './stores.js';

after(closeStores);

async function record(w: TestWorkflow, requestId: string, version: number, path: string): Promise<void> {
  await w.store.db.transaction().execute((trx) =>
    insertModelVersion(trx, {
      name: 'm',
      version,
      path,
      contentSha256: path.padEnd(64, '0'),
      files: {},
      requestId,
      certificateSha256: 'c'.repeat(64),
      releasedBy: runner.name,
      releasedAt: w.now().toISOString(),
    }),
  );
}

for (const kind of STORE_KINDS) {
  describe(`registry versions on ${kind}`, storeOptions(kind), () => {
    test('a release whose version is taken meanwhile is numbered again, the other keeps its version', async () => {
      const w = await freshWorkflow(kind);
      try {
        const first = await createRequest(w, alice, createBody());
        const second = await createRequest(w, alice, createBody());
        const tried: number[] = [];
        const got = await withNextVersion(w.store.db, 'm', async (version) => {
          tried.push(version);
          if (tried.length === 1) await record(w, second.id, version, 'other'); // the other release wins the race
          await record(w, first.id, version, 'mine');
          return version;
        });
        assert.deepEqual(tried, [1, 2]);
        assert.equal(got, 2);
        const versions = (await listModelVersions(w, runner, 'm')).map((v) => [v.version, v.path, v.requestId]);
        assert.deepEqual(versions, [
          [1, 'other', second.id],
          [2, 'mine', first.id],
        ]);
      } finally {
        await w.dispose();
      }
    });

    test('it gives up after the stated attempts, and other errors are not retried', async () => {
      const w = await freshWorkflow(kind);
      try {
        const req = await createRequest(w, alice, createBody());
        let calls = 0;
        await assert.rejects(
          withNextVersion(
            w.store.db,
            'm',
            async (version) => {
              calls++;
              await record(w, req.id, version, `taken-${version}`);
              await record(w, req.id, version, 'mine');
            },
            3,
          ),
          (err: unknown) => err instanceof VersionTakenError && /m v3 was released by someone else/.test((err as Error).message),
        );
        assert.equal(calls, 3);
        calls = 0;
        await assert.rejects(
          withNextVersion(w.store.db, 'm', async () => {
            calls++;
            throw new Error('disk full');
          }),
          /disk full/,
        );
        assert.equal(calls, 1);
      } finally {
        await w.dispose();
      }
    });
  });
}
