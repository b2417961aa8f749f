// The HTTP API over a workflow: fastify with JSON-schema validated bodies, OpenAPI at
// /openapi.json, bearer tokens with roles, a body limit and a rate limit, security headers on every
// response and no token in a logged URL (./hardening.ts). Thin: validate, call.
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { JobRunner, type Workflow } from '../workflow/index.js';
import { installErrorHandler } from './errors.js';
import { installHardening, logSerializers } from './hardening.js';
import { installRateLimit, type RateLimit, type RateLimiter } from './rate-limit.js';
import { auditRoutes } from './routes/audit.js';
import { modelRoutes } from './routes/models.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { jobRoutes } from './routes/jobs.js';
import { requestRoutes } from './routes/requests.js';

export interface ServerOptions {
  /** Largest accepted body in bytes (default 64 KiB). */
  bodyLimit?: number;
  rateLimit?: RateLimit;
  /** true: log to stdout; a stream: log there (tests read it). */
  logger?: boolean | { stream: { write(line: string): void } };
  version?: string;
  /** The job runner behind /v1/requests/:id/run and /v1/jobs (default: one over the workflow's data
   *  folder, not started: call start() to resume jobs). Closing the server stops its workers. */
  jobs?: JobRunner | ((log: (line: string) => void) => JobRunner);
}

declare module 'fastify' {
  interface FastifyInstance {
    jobs: JobRunner;
    rateLimiter: RateLimiter;
  }
}

export async function buildServer(w: Workflow, o: ServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: o.bodyLimit ?? 64 * 1024,
    logger: o.logger ? { serializers: logSerializers, ...(typeof o.logger === 'object' ? { stream: o.logger.stream } : {}) } : false,
    // Release names may be 500 characters (URL-encoded: up to 12 bytes each); find-my-way's default 100 gave a 414.
    maxParamLength: 6000,
    // No silent type coercion or dropping of unknown fields: a wrong body is a 400 naming the field.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });
  installErrorHandler(app);
  installHardening(app);
  app.decorate('rateLimiter', installRateLimit(app, w, o.rateLimit ?? { max: 300, windowMs: 60_000 }));
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Lethe erasure requests',
        version: o.version ?? '0.1.0',
        description: 'Erasure requests from receipt to verified release, with a signed audit log.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  const jobs = typeof o.jobs === 'function' ? o.jobs((line) => app.log.info(line)) : (o.jobs ?? new JobRunner(w, { dataDir: w.dataDir }));
  app.decorate('jobs', jobs);
  app.addHook('onClose', async () => jobs.stop());
  requestRoutes(app, w);
  jobRoutes(app, w, jobs);
  auditRoutes(app, w);
  modelRoutes(app, w);
  // The dashboard (/dashboard/), GET /v1/me and the public transparency report (/transparency).
  dashboardRoutes(app, w);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.ready();
  return app;
}
