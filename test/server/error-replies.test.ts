// The one error reply shape: each LetheError code maps to its HTTP status, a 4xx carries the
// message (and field), and a 5xx says only "internal error".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { installErrorHandler } from '../../src/server/errors.js';
import { LetheError, type LetheErrorCode } from '../../src/util/errors.js';

const EXPECTED: Record<LetheErrorCode, number> = {
  BAD_INPUT: 400,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  // A model or checkpoint the caller named that cannot be used: their input, not our fault.
  BAD_CHECKPOINT: 422,
  NON_FINITE_LOSS: 500,
  INTERRUPTED: 503,
  INTERNAL: 500,
};

test('each LetheError code becomes its status; 4xx replies carry message and field, 5xx do not', async () => {
  const app = Fastify({ logger: false });
  installErrorHandler(app);
  app.get('/throw/:code', async (req) => {
    const { code } = req.params as { code: LetheErrorCode };
    throw new LetheError(code, `the ${code} message`, { field: 'model' });
  });
  try {
    for (const [code, status] of Object.entries(EXPECTED) as [LetheErrorCode, number][]) {
      const r = await app.inject({ method: 'GET', url: `/throw/${code}` });
      assert.equal(r.statusCode, status, code);
      const body = r.json() as { error: string; message: string; field?: string };
      assert.equal(body.error, code);
      if (status < 500) assert.deepEqual(body, { error: code, message: `the ${code} message`, field: 'model' });
      else assert.equal(body.message, 'internal error', `${code}: nothing internal leaks`);
    }
  } finally {
    await app.close();
  }
});
