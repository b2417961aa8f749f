// Jobs and releases: run an approved request (202 + the queued job), list and read jobs, follow one
// as server-sent events, cancel it; the model registry's releases and their certificates.
import type { FastifyInstance } from 'fastify';
import {
  certificateHtml,
  certificateOf,
  FINAL_JOB_STATES,
  getJob,
  JOB_STATES,
  listJobs,
  listModelVersions,
  RunJobInput,
  type JobRunner,
  type JobState,
  type JobView,
  type Workflow,
} from '../../workflow/index.js';
import { actorOf, requireAction } from '../auth.js';
import { BASE_HEADERS, CERTIFICATE_CSP } from '../hardening.js';
import { jsonSchema, requestIdParams } from '../schemas.js';

const jobIdParams = {
  type: 'object',
  properties: { id: { type: 'string', pattern: '^job_[0-9a-f]{12}$', description: 'a job id (job_ + 12 hex digits)' } },
  required: ['id'],
  additionalProperties: false,
} as const;

const releaseParams = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 500, description: 'the registry name (URL-encoded)' },
    version: { type: 'string', pattern: '^[1-9][0-9]{0,8}$' },
  },
  required: ['name', 'version'],
  additionalProperties: false,
} as const;

/** What a stream has shown of a job: a row read again that says nothing new is not sent. */
const shown = (j: JobView) => JSON.stringify([j.state, j.progress, j.attempts]);

/** A comment line every so often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

export function jobRoutes(app: FastifyInstance, w: Workflow, jobs: JobRunner): void {
  const tags = ['jobs'];
  // Open event streams never go idle, so closing the server ends them first (else close() waits).
  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const close of [...streams]) close();
  });
  app.post<{ Params: { id: string } }>(
    '/v1/requests/:id/run',
    {
      onRequest: requireAction(w, 'request.run'),
      schema: {
        tags: ['requests', 'jobs'],
        summary: 'queue the unlearning and verification of an approved request; 202 with the job',
        params: requestIdParams,
        body: jsonSchema(RunJobInput),
      },
    },
    async (req, reply) => reply.status(202).send({ job: await jobs.submit(actorOf(req), req.params.id, req.body) }),
  );

  app.get<{ Querystring: { state?: JobState; limit?: string } }>(
    '/v1/jobs',
    {
      onRequest: requireAction(w, 'request.read'),
      schema: {
        tags,
        summary: 'list jobs, newest first',
        querystring: {
          type: 'object',
          properties: { state: { type: 'string', enum: [...JOB_STATES] }, limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$' } },
          additionalProperties: false,
        },
      },
    },
    async (req) => ({
      jobs: await listJobs(w, actorOf(req), { state: req.query.state, limit: req.query.limit ? Number(req.query.limit) : undefined }),
    }),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id',
    {
      onRequest: requireAction(w, 'request.read'),
      schema: { tags, summary: "a job's state and progress", params: jobIdParams },
    },
    async (req) => getJob(w, actorOf(req), req.params.id),
  );

  app.post<{ Params: { id: string } }>(
    '/v1/jobs/:id/cancel',
    {
      onRequest: requireAction(w, 'request.run'),
      schema: {
        tags,
        summary:
          "cancel a job: a queued one is dropped (its request stays approved); a running one is killed and its request fails ('cancelled by …')",
        params: jobIdParams,
      },
    },
    async (req) => jobs.cancel(actorOf(req), req.params.id),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id/events',
    {
      onRequest: requireAction(w, 'request.read'),
      schema: {
        tags,
        summary:
          "server-sent events: 'state' (the job now, and on each state change), 'progress' (each step), 'end' (finished; the stream closes)",
        params: jobIdParams,
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      let deliver: ((j: JobView) => void) | null = null;
      const early: JobView[] = [];
      const listener = (j: JobView) => {
        if (j.id === id) deliver ? deliver(j) : early.push(j);
      };
      jobs.on('job', listener); // before reading the job, so that no change is missed in between
      let job: JobView;
      try {
        job = await getJob(w, actorOf(req), id);
      } catch (err) {
        jobs.off('job', listener);
        throw err;
      }
      reply.hijack();
      const res = reply.raw;
      // Hijacked: the onSend hook that adds the security headers does not run for this reply.
      res.writeHead(200, {
        ...BASE_HEADERS,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      let closed = false;
      const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
      let poll: NodeJS.Timeout | undefined;
      const close = () => {
        if (closed) return;
        closed = true;
        streams.delete(close);
        clearInterval(heartbeat);
        clearInterval(poll);
        jobs.off('job', listener);
        res.end();
      };
      res.on('close', close);
      streams.add(close);
      const send = (event: 'state' | 'progress' | 'end', j: JobView) => {
        if (!closed) res.write(`event: ${event}\ndata: ${JSON.stringify(j)}\n\n`);
      };
      let state = job.state;
      let last = shown(job);
      deliver = (j) => {
        last = shown(j);
        send(j.state !== state ? 'state' : 'progress', j);
        state = j.state;
        if (FINAL_JOB_STATES.includes(j.state)) {
          send('end', j);
          close();
        }
      };
      // A job run by another process (a `lethe worker`, another server's runner): its row is the news.
      poll = setInterval(() => {
        if (closed || jobs.holds(id)) return;
        getJob(w, actorOf(req), id)
          .then((j) => {
            if (!closed && !jobs.holds(id) && shown(j) !== last) deliver!(j);
          })
          .catch(() => {});
      }, jobs.pollMs);
      send('state', job);
      if (FINAL_JOB_STATES.includes(job.state)) {
        send('end', job);
        close();
      }
      for (const j of early.splice(0)) deliver(j);
    },
  );

  app.get(
    '/v1/releases',
    {
      onRequest: requireAction(w, 'request.read'),
      schema: { tags: ['releases'], summary: 'every released model version in the registry' },
    },
    async (req) => ({ releases: await listModelVersions(w, actorOf(req)) }),
  );

  app.get<{ Params: { name: string; version: string } }>(
    '/v1/releases/:name/:version/certificate',
    {
      onRequest: requireAction(w, 'request.read'),
      schema: {
        tags: ['releases'],
        summary: "a release's certificate (JSON), checked against the sha256 recorded at release",
        params: releaseParams,
      },
    },
    async (req) => certificateOf(w, actorOf(req), req.params.name, Number(req.params.version)),
  );

  app.get<{ Params: { name: string; version: string } }>(
    '/v1/releases/:name/:version/certificate.html',
    {
      onRequest: requireAction(w, 'request.read'),
      schema: { tags: ['releases'], summary: "a release's certificate as a self-contained HTML page", params: releaseParams },
    },
    async (req, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('content-security-policy', CERTIFICATE_CSP)
        .send(certificateHtml(await certificateOf(w, actorOf(req), req.params.name, Number(req.params.version)))),
  );
}
