// Bearer-token authentication and role checks, run on every /v1/ route before its body is even
// parsed: no token or an unknown one is a 401, a role without the action a 403.
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { LetheError } from '../util/errors.js';
import { authenticate, authorize, type Action, type Actor, type Workflow } from '../workflow/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    actor?: Actor;
  }
}

export function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  return m?.[1];
}

export function requireAction(w: Workflow, action: Action): onRequestHookHandler {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const token = bearer(req);
    // Verified already by the rate limit, in this request.
    const actor = req.verifiedActor !== undefined ? req.verifiedActor : await authenticate(w, token);
    if (!actor) {
      reply.header('www-authenticate', 'Bearer');
      return reply.status(401).send({
        error: 'UNAUTHORIZED',
        message: token ? 'the bearer token is unknown or revoked' : 'an Authorization: Bearer <token> header is required',
      });
    }
    authorize(actor, action);
    req.actor = actor;
  };
}

/** The authenticated actor (set by requireAction). */
export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor) throw new LetheError('INTERNAL', 'route without requireAction');
  return req.actor;
}
