// /v1/audit/verify and /v1/reports/transparency.
import type { FastifyInstance } from 'fastify';
import { transparencyReport, verifyAudit, type Workflow } from '../../workflow/index.js';
import { actorOf, requireAction } from '../auth.js';

export function auditRoutes(app: FastifyInstance, w: Workflow): void {
  app.get<{ Querystring: { count?: string; hash?: string } }>(
    '/v1/audit/verify',
    {
      onRequest: requireAction(w, 'audit.read'),
      schema: {
        tags: ['audit'],
        summary: 'check the hash chain, every signature and the signed head; count+hash of an earlier head also catch a rollback',
        querystring: {
          type: 'object',
          properties: { count: { type: 'string', pattern: '^[0-9]{1,12}$' }, hash: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
          dependencies: { count: ['hash'], hash: ['count'] },
          additionalProperties: false,
        },
      },
    },
    async (req) => {
      actorOf(req);
      const { count, hash } = req.query;
      return verifyAudit(w, count !== undefined && hash ? { count: Number(count), hash } : undefined);
    },
  );

  app.get(
    '/v1/reports/transparency',
    {
      onRequest: requireAction(w, 'report.read'),
      schema: { tags: ['reports'], summary: 'counts of requests by justification category and outcome; no contents' },
    },
    async (req) => transparencyReport(w, actorOf(req)),
  );
}
