// The rate limit, per verified caller: the person behind a valid token (all their tokens share one
// budget), else the client address with its own, stricter budget (no token, or a wrong one). So a
// made-up token id neither opens a fresh budget nor spends its owner's. Over budget: 429 with
// Retry-After. A person may have a budget of their own (a monitoring account that polls often).
// Fixed windows, kept in two bounded maps (people; addresses) that drop the caller seen
// least recently when full: O(1) per request, and memory stays fixed whatever callers send. The
// token is verified here, once; the route's auth reuses the result.
import type { FastifyInstance } from 'fastify';
import { authenticate, identityKey, type Actor, type Workflow } from '../workflow/index.js';
import { LruMap } from '../util/lru-map.js';
import { bearer } from './auth.js';

export interface RateLimit {
  /** Requests per window for one person (any of their valid tokens). */
  max: number;
  /** Budgets of their own for some people, by name (compared as identityKey does), instead of `max`. */
  perPerson?: Record<string, number>;
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

/** Fixed windows by key, at most `cap` keys; the least recently seen goes first. */
export class WindowMap {
  private readonly windows: LruMap<string, Window>;

  constructor(cap: number) {
    this.windows = new LruMap(cap);
  }

  get size(): number {
    return this.windows.size;
  }

  hit(key: string, now: number, windowMs: number): Window {
    let win = this.windows.get(key);
    if (!win || win.resetAt <= now) {
      win = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, win);
    }
    win.count++;
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
  const perPerson = new Map(Object.entries(o.perPerson ?? {}).map(([name, max]) => [identityKey(name), max]));
  app.addHook('onRequest', async (req, reply) => {
    const token = bearer(req);
    const actor = token ? await authenticate(w, token) : null;
    req.verifiedActor = actor;
    const now = Date.now();
    const person = actor && identityKey(actor.name);
    const [win, max] = person
      ? [limiter.people.hit(person, now, o.windowMs), perPerson.get(person) ?? o.max]
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
