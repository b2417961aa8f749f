// What every response and every log line of the server gets, whatever the route: strict security
// headers (a route may set its own CSP), URLs logged without tokens, JSON bodies limited in depth
// (a deeply nested body would otherwise overflow the validator's stack: a 500), and a full disk
// reported as such.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LetheError } from '../util/errors.js';

/** Headers on every response; a route's own value wins (the dashboard, the certificate). */
export const BASE_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** The certificate page: its one inline style sheet, nothing else (no scripts, no requests). */
export const CERTIFICATE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Objects and arrays nested deeper than this in a body are refused (the deepest schema needs ~6). */
export const MAX_JSON_DEPTH = 32;

/** A URL fit for a log: bearer tokens (lethe_…) anywhere and the values of token-like query
 *  parameters (token, access_token, key, secret, password, auth…) replaced. */
export function redactUrl(url: string): string {
  const at = url.indexOf('?');
  const path = at < 0 ? url : url.slice(0, at);
  const query =
    at < 0
      ? ''
      : url
          .slice(at + 1)
          .split('&')
          .map((pair) => {
            const eq = pair.indexOf('=');
            let name = eq < 0 ? pair : pair.slice(0, eq);
            try {
              name = decodeURIComponent(name);
            } catch {
              /* logged as sent */
            }
            return eq >= 0 && /token|key|secret|passw|auth|bearer/i.test(name) ? `${pair.slice(0, eq)}=[redacted]` : pair;
          })
          .join('&');
  return (at < 0 ? path : `${path}?${query}`).replace(/lethe_[0-9A-Za-z]{8}_[A-Za-z0-9_%-]*/g, 'lethe_[redacted]');
}

/** Fastify's request serializer, with the URL redacted (it logs method, url, host, address). */
export const logSerializers = {
  req(req: FastifyRequest) {
    return { method: req.method, url: redactUrl(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort };
  },
};

/** The path of the first value nested deeper than `max`, or null. Iterative: no stack to overflow. */
export function tooDeep(value: unknown, max: number): string[] | null {
  const stack: [unknown, string[]][] = [[value, []]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (path.length >= max) return path;
    for (const [k, c] of Object.entries(v)) if (c !== null && typeof c === 'object') stack.push([c, [...path, k]]);
  }
  return null;
}

const DISK_FULL = new Set(['SQLITE_FULL', 'ENOSPC', 'EDQUOT', '53100' /* PostgreSQL disk_full */]);

/** True for an error (or its cause) that says the disk or the database is full. */
export function isDiskFull(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, k = 0; e && k < 5; e = e.cause as typeof e, k++) {
    if (typeof e.code === 'string' && DISK_FULL.has(e.code)) return true;
  }
  return false;
}

export function installHardening(app: FastifyInstance): void {
  app.addHook('onSend', async (_req, reply) => {
    for (const [k, v] of Object.entries(BASE_HEADERS)) if (!reply.hasHeader(k)) reply.header(k, v);
  });
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    parseJson(req, body as string, (err: Error | null, value?: unknown) => {
      if (err) return done(err, undefined);
      const path = tooDeep(value, MAX_JSON_DEPTH);
      if (!path) return done(null, value);
      const field = path[0] ?? '(body)';
      done(
        Object.assign(new LetheError('BAD_INPUT', `body: '${field}' is nested more than ${MAX_JSON_DEPTH} levels deep`), { field }),
        undefined,
      );
    });
  });
}
