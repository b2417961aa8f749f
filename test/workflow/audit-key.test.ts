// The audit signing key kept outside the data folder (`keyFile`: the CLI's --key-file or
// $LETHE_AUDIT_KEY_FILE): made on first use, pinned by its public half in DATA/keys, refused inside the
// data folder or beside a copy left in DATA/keys. Someone who can write the data folder but not read
// the key cannot re-sign a rewritten log: every signature they make fails.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequest, getJob, JobRunner, loadDeployment, verifyAudit, type JobView } from '../../src/workflow/index.js';
import { KEY_DIR, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE } from '../../src/workflow/deployment.js';
import { closeStores, freshWorkflow, STORE_KINDS, storeOptions } from './stores.js';
import { alice, createBody, runner } from './fixtures.js';
import { approved, setup } from './run-fixtures.js';
import { rewriteChain } from './audit-attacker.js';

after(closeStores);

const tmp = (what: string) => mkdtempSync(join(tmpdir(), `lethe-key-${what}-`));

describe('the signing key outside the data folder', () => {
  test('made on first use (mode 600), only its public half in DATA/keys; needed from then on', () => {
    const data = tmp('data');
    const vault = tmp('vault');
    try {
      const keyFile = join(vault, 'audit.pem');
      const d = loadDeployment(data, { keyFile });
      assert.equal(statSync(keyFile).mode & 0o777, 0o600);
      assert.deepEqual(readdirSync(join(data, KEY_DIR)).sort(), [PUBLIC_KEY_FILE, 'subject-salt']);
      assert.equal(d.keyFile, keyFile);
      assert.equal(loadDeployment(data, { keyFile }).keyId, d.keyId, 'the same key next time');
      assert.throws(
        () => loadDeployment(data),
        /the audit signing key is not in .* \(its public key is\): give '--key-file FILE' or \$LETHE_AUDIT_KEY_FILE/,
      );
      assert.throws(
        () => loadDeployment(data, { keyFile: join(vault, 'typo.pem') }),
        /the key file .*typo.pem does not exist, and this deployment already has a key/,
      );
      const other = join(vault, 'other.pem');
      writeFileSync(other, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
      assert.throws(() => loadDeployment(data, { keyFile: other }), /audit-ed25519.pub.pem does not match/);
    } finally {
      rmSync(data, { recursive: true, force: true });
      rmSync(vault, { recursive: true, force: true });
    }
  });

  test('refused inside the data folder, or while a copy is left in DATA/keys; a moved key keeps its id', () => {
    const data = tmp('data');
    const vault = tmp('vault');
    try {
      assert.throws(
        () => loadDeployment(data, { keyFile: join(data, 'secret', 'audit.pem') }),
        /the key file .* lies inside the data folder .*; keep it outside/,
      );
      const before = loadDeployment(data); // an existing deployment: the key in DATA/keys (the default)
      const keyFile = join(vault, 'audit.pem');
      assert.throws(() => loadDeployment(data, { keyFile }), /still holds a signing key while '--key-file' names .*: move it out/);
      renameSync(join(data, KEY_DIR, PRIVATE_KEY_FILE), keyFile);
      assert.equal(loadDeployment(data, { keyFile }).keyId, before.keyId);
      assert.ok(!existsSync(join(data, KEY_DIR, PRIVATE_KEY_FILE)));
    } finally {
      rmSync(data, { recursive: true, force: true });
      rmSync(vault, { recursive: true, force: true });
    }
  });

  for (const kind of STORE_KINDS) {
    test(`on ${kind}: a log rewritten by someone without the key fails on every signature they made`, storeOptions(kind), async () => {
      const vault = tmp('vault');
      const w = await freshWorkflow(kind, { keyFile: join(vault, 'audit.pem') });
      try {
        await createRequest(w, alice, createBody());
        await createRequest(w, alice, createBody());
        assert.deepEqual((await verifyAudit(w)).problems, []);
        // Their own key: the one they could have found in DATA/keys is not there.
        await rewriteChain(w, generateKeyPairSync('ed25519').privateKey, (es) =>
          es.map((e) => (e.seq === 1 ? { ...e, actor: 'mallory' } : e)),
        );
        const p = (await verifyAudit(w)).problems;
        assert.deepEqual(
          p,
          [
            'entry 1: signature does not verify',
            'entry 2: signature does not verify',
            "the head checkpoint's signature does not verify",
          ].map((s) => s.replace('verify', `verify with key ${w.deployment.keyId}`)),
        );
      } finally {
        await w.dispose();
        rmSync(vault, { recursive: true, force: true });
      }
    });
  }

  test('a job worker signs its entries with the key kept outside (the runner hands it over)', async () => {
    const vault = tmp('vault');
    const w = await freshWorkflow('sqlite', { keyFile: join(vault, 'audit.pem') });
    const jobs = new JobRunner(w, { dataDir: w.dataDir });
    try {
      const s = setup(w.dataDir);
      const id = await approved(w, s.forgetFile);
      await jobs.start();
      const done = new Promise<JobView>((res) =>
        jobs.on('job', (j: JobView) => {
          if (['succeeded', 'failed'].includes(j.state)) res(j);
        }),
      );
      const job = await jobs.submit(runner, id, {
        model: 'model',
        forgetFile: 'forget.jsonl',
        method: 'GradAscent',
        training: { steps: 2 },
        policy: { checks: [{ metric: 'forget_Q_A_Prob', max_ratio_to_original: 1.5 }] },
      });
      const end = await done;
      assert.equal(end.state, 'succeeded', (await getJob(w, runner, job.id)).error ?? '');
      assert.deepEqual((await verifyAudit(w)).problems, []);
    } finally {
      await jobs.stop();
      await w.dispose();
      rmSync(vault, { recursive: true, force: true });
    }
  });
});
