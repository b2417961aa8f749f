// The rate limit, per verified caller: the person behind a valid token (all their tokens share one
// budget), else the client address with its own, stricter budget (no token, or a wrong one). So a
// made-up token id neither opens a fresh budget nor spends its owner's. Over budget: 429 with
// Retry-After. Fixed windows, kept in two bounded maps (people; addresses) that drop the caller seen
// least recently when full: O(1) per request, and memory stays fixed whatever callers send. The
// token is verified here, once; the route's auth reuses the result.
import type { FastifyInstance } from 'fastify';
import { authenticate, identityKey, type Actor, type Workflow } from '../workflow/index.js';
import { bearer } from './auth.js';

export interface RateLimit {
  /** Requests per window for one person (any of their valid tokens). */
  max: number;
  windowMs: number;
  /** Requests per window for one address without a valid token (default max / 5, rounded up). */
  anonymousMax?: number;
  /** Callers remembered in each map (default 10,000). */
  maxKeys?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The bearer token's actor as the rate limit verified it (null: none or not valid). */
    verifiedActor?: Actor | null;
  }
}

interface Window {
  count: number;
  resetAt: number;
}

/** Fixed windows by key, at most `cap` keys; the least recently seen goes first (Map keeps order). */
export class WindowMap {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly cap: number) {}

  get size(): number {
    return this.windows.size;
  }

  hit(key: string, now: number, windowMs: number): Window {
    let win = this.windows.get(key);
    if (win) this.windows.delete(key); // set again below: now the most recently seen
    if (!win || win.resetAt <= now) win = { count: 0, resetAt: now + windowMs };
    win.count++;
    this.windows.set(key, win);
    if (this.windows.size > this.cap) this.windows.delete(this.windows.keys().next().value!);
    return win;
  }
}

export interface RateLimiter {
  people: WindowMap;
  addresses: WindowMap;
}

export function installRateLimit(app: FastifyInstance, w: Workflow, o: RateLimit): RateLimiter {
  const cap = o.maxKeys ?? 10_000;
  const limiter = { people: new WindowMap(cap), addresses: new WindowMap(cap) };
  const anonymousMax = o.anonymousMax ?? Math.ceil(o.max / 5);
  app.addHook('onRequest', async (req, reply) => {
    const token = bearer(req);
    const actor = token ? await authenticate(w, token) : null;
    req.verifiedActor = actor;
    const now = Date.now();
    const [win, max] = actor
      ? [limiter.people.hit(identityKey(actor.name), now, o.windowMs), o.max]
      : [limiter.addresses.hit(req.ip, now, o.windowMs), anonymousMax];
    if (win.count > max) {
      reply.header('retry-after', Math.ceil((win.resetAt - now) / 1000));
      return reply.status(429).send({
        error: 'RATE_LIMITED',
        message: `more than ${max} requests in ${o.windowMs / 1000} s${actor ? '' : ' without a valid token from this address'}; retry later`,
      });
    }
  });
  return limiter;
}
