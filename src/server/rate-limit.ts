// A simple fixed-window rate limit per caller (the token's id when one is sent, else the address):
// over `max` requests in `windowMs` gets a 429 with Retry-After.
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface RateLimit { max: number; windowMs: number }

function callerOf(req: FastifyRequest): string {
  const m = /^Bearer\s+lethe_([0-9a-f]{8})_/i.exec(req.headers.authorization ?? '');
  return m ? `token:${m[1]}` : `ip:${req.ip}`;
}

export function installRateLimit(app: FastifyInstance, o: RateLimit): void {
  const windows = new Map<string, { count: number; resetAt: number }>();
  app.addHook('onRequest', async (req, reply) => {
    const now = Date.now();
    if (windows.size > 10_000) for (const [k, v] of windows) if (v.resetAt <= now) windows.delete(k);
    const key = callerOf(req);
    let win = windows.get(key);
    if (!win || win.resetAt <= now) windows.set(key, (win = { count: 0, resetAt: now + o.windowMs }));
    if (++win.count > o.max) {
      reply.header('retry-after', Math.ceil((win.resetAt - now) / 1000));
      return reply.status(429).send({ error: 'RATE_LIMITED', message: `more than ${o.max} requests in ${o.windowMs / 1000} s; retry later` });
    }
  });
}
