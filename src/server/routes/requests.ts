// /v1/requests: create, list, status, scope, approve, reject.
import type { FastifyInstance } from 'fastify';
import {
  approveRequest,
  createRequest,
  CreateRequestInput,
  DecisionInput,
  getRequest,
  listRequests,
  rejectRequest,
  scopeRequest,
  ScopeInput,
  STATES,
  type State,
  type Workflow,
} from '../../workflow/index.js';
import { actorOf, requireAction } from '../auth.js';
import { jsonSchema, requestIdParams } from '../schemas.js';

type IdParams = { Params: { id: string } };

export function requestRoutes(app: FastifyInstance, w: Workflow): void {
  const tags = ['requests'];
  app.post(
    '/v1/requests',
    {
      onRequest: requireAction(w, 'request.create'),
      schema: {
        tags,
        summary: 'file an erasure request (the subject is hashed at once, never stored)',
        body: jsonSchema(CreateRequestInput),
      },
    },
    async (req, reply) => reply.status(201).send(await createRequest(w, actorOf(req), req.body)),
  );

  app.get<{ Querystring: { state?: State; limit?: string } }>(
    '/v1/requests',
    {
      onRequest: requireAction(w, 'request.read'),
      schema: {
        tags,
        summary: 'list requests, newest first',
        querystring: {
          type: 'object',
          properties: { state: { type: 'string', enum: [...STATES] }, limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$' } },
          additionalProperties: false,
        },
      },
    },
    async (req) => ({
      requests: await listRequests(w, actorOf(req), {
        state: req.query.state,
        limit: req.query.limit ? Number(req.query.limit) : undefined,
      }),
    }),
  );

  app.get<IdParams>(
    '/v1/requests/:id',
    {
      onRequest: requireAction(w, 'request.read'),
      schema: { tags, summary: "a request's state, scope and history (who, when, why)", params: requestIdParams },
    },
    async (req) => getRequest(w, actorOf(req), req.params.id),
  );

  app.post<IdParams>(
    '/v1/requests/:id/scope',
    {
      onRequest: requireAction(w, 'request.scope'),
      schema: {
        tags,
        summary: 'name the model, the method and the forget data (by hash and row count)',
        params: requestIdParams,
        body: jsonSchema(ScopeInput),
      },
    },
    async (req) => scopeRequest(w, actorOf(req), req.params.id, req.body),
  );

  app.post<IdParams>(
    '/v1/requests/:id/approve',
    {
      onRequest: requireAction(w, 'request.decide'),
      schema: {
        tags,
        summary: 'approve a scoped request (four-eyes: not its requester or scoper)',
        params: requestIdParams,
        body: jsonSchema(DecisionInput),
      },
    },
    async (req) => approveRequest(w, actorOf(req), req.params.id, req.body),
  );

  app.post<IdParams>(
    '/v1/requests/:id/reject',
    {
      onRequest: requireAction(w, 'request.decide'),
      schema: { tags, summary: 'refuse a request, with the reason', params: requestIdParams, body: jsonSchema(DecisionInput) },
    },
    async (req) => rejectRequest(w, actorOf(req), req.params.id, req.body),
  );
}
