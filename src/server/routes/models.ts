// /v1/models/:name/lineage: what a registered model was made from and what was made from it (as
// `lethe lineage NAME --json`). Registration stays a local operator's command (`lethe register`,
// `--register`): it names folders on the machine that holds them, which a remote caller cannot vouch for.
import type { FastifyInstance } from 'fastify';
import { lineageOf, type Workflow } from '../../workflow/index.js';
import { actorOf, requireAction } from '../auth.js';

export function modelRoutes(app: FastifyInstance, w: Workflow): void {
  app.get<{ Params: { name: string } }>(
    '/v1/models/:name/lineage',
    {
      onRequest: requireAction(w, 'request.read'),
      schema: {
        tags: ['releases'],
        summary: "a registered model's lineage: its ancestors and descendants, with how each was made and its data's hashes",
        params: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string', minLength: 1, maxLength: 200, description: 'the registered name (URL-encoded)' } },
        },
      },
    },
    async (req) => lineageOf(w, actorOf(req), req.params.name, { byName: true }),
  );
}
