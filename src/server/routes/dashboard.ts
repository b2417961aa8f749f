// The dashboard and the public transparency report. The page, its style sheet and its scripts are
// public (they hold no data); every piece of data comes through the /v1 API with the bearer token
// the user pastes in. Served from this process only — no CDN — so the dashboard works offline.
// Also: GET /v1/me (who a token belongs to, for the page to offer that role's actions) and the
// transparency counts without a token (GET /transparency, GET /v1/reports/transparency/public).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { CATEGORIES, STATES, transparencyReport, type Actor, type Workflow } from '../../workflow/index.js';
import { dashboardCss, dashboardHtml } from '../../web/dashboard/page.js';
import { transparencyHtml } from '../../web/transparency-page.js';
import { actorOf, requireAction } from '../auth.js';

/** The compiled client scripts (tsc writes them next to this file's compiled layer: dist/src/web/dashboard/client/). */
const CLIENT_DIR = fileURLToPath(new URL('../../web/dashboard/client/', import.meta.url));

/** The transparency counts are public by design; this reader stands for "anyone" (report.read only). */
const PUBLIC_READER: Actor = { name: 'public', role: 'auditor' };

// Scripts only from this server; inline styles are allowed for the certificate shown in a sandboxed iframe.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** name.js → its text, read once; the source-map comment dropped (the maps are not served). */
function loadClientScripts(): Map<string, string> {
  const scripts = new Map<string, string>();
  if (!existsSync(CLIENT_DIR)) return scripts;
  for (const name of readdirSync(CLIENT_DIR)) {
    if (/^[a-z][a-z0-9-]*\.js$/.test(name))
      scripts.set(name, readFileSync(CLIENT_DIR + name, 'utf8').replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n'));
  }
  return scripts;
}

const send = (reply: FastifyReply, type: string, body: string) => reply.headers(SECURITY_HEADERS).type(type).send(body);

export function dashboardRoutes(app: FastifyInstance, w: Workflow): void {
  const hide = { schema: { hide: true } };
  const page = dashboardHtml({ categories: CATEGORIES, states: STATES });
  const scripts = loadClientScripts();

  app.get('/', hide, (_req, reply) => reply.redirect('/dashboard/'));
  app.get('/dashboard', hide, (_req, reply) => reply.redirect('/dashboard/'));
  app.get('/dashboard/', hide, (_req, reply) => send(reply, 'text/html; charset=utf-8', page));
  app.get('/dashboard/style.css', hide, (_req, reply) => send(reply, 'text/css; charset=utf-8', dashboardCss));
  app.get<{ Params: { file: string } }>('/dashboard/js/:file', hide, (req, reply) => {
    const js = scripts.get(req.params.file);
    if (js === undefined) {
      const why = scripts.size ? '' : ' (the dashboard scripts are not built: run tsc)';
      return reply.status(404).send({ error: 'NOT_FOUND', message: `no dashboard script ${req.params.file}${why}` });
    }
    return send(reply, 'text/javascript; charset=utf-8', js);
  });

  app.get(
    '/v1/me',
    {
      onRequest: requireAction(w, 'request.read'),
      schema: { tags: ['tokens'], summary: 'who this token belongs to: name and role' },
    },
    async (req) => {
      const { name, role } = actorOf(req);
      return { name, role };
    },
  );

  app.get(
    '/v1/reports/transparency/public',
    {
      schema: {
        tags: ['reports'],
        summary: 'the transparency report without a token: counts by category and outcome, no contents',
        security: [],
      },
    },
    async () => transparencyReport(w, PUBLIC_READER),
  );

  app.get('/transparency', hide, async (_req, reply) =>
    send(reply, 'text/html; charset=utf-8', transparencyHtml(await transparencyReport(w, PUBLIC_READER), CATEGORIES, STATES)),
  );
}
