// One error reply shape, {error: CODE, message, field?}: LetheError codes map to HTTP statuses,
// fastify's validation errors become 400s naming the field, and nothing internal leaks from a 500.
import type { FastifyError, FastifyInstance } from 'fastify';
import { LetheError, type LetheErrorCode } from '../util/errors.js';
import { isDiskFull } from './hardening.js';

export const STATUS: Record<LetheErrorCode, number> = {
  BAD_INPUT: 400,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  // A model or checkpoint the caller named that cannot be used: their input, not a server fault.
  BAD_CHECKPOINT: 422,
  NON_FINITE_LOSS: 500,
  // A run stopped by Ctrl-C (the CLI's runs only; a server's workers are never interruptible).
  INTERRUPTED: 503,
  INTERNAL: 500,
};

export interface ErrorReply {
  error: string;
  message: string;
  field?: string;
}

type Validation = NonNullable<FastifyError['validation']>[number];

/** "evidence.reference" from an ajv error (the missing or unknown property included). */
export function fieldOf(v: Validation): string {
  const params = v.params as { missingProperty?: string; additionalProperty?: string };
  const parts = v.instancePath.split('/').filter(Boolean);
  const extra = params.missingProperty ?? params.additionalProperty;
  if (extra) parts.push(extra);
  return parts.join('.') || '(body)';
}

function validationMessage(context: string, v: Validation, field: string): string {
  const params = v.params as { missingProperty?: string; additionalProperty?: string };
  if (params.missingProperty) return `${context}: '${field}' is required`;
  if (params.additionalProperty) return `${context}: '${field}' is not a known field`;
  return `${context}: '${field}' ${v.message ?? 'is invalid'}`;
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation?.length) {
      const v = err.validation[0]!;
      const field = fieldOf(v);
      return reply
        .status(400)
        .send({ error: 'BAD_INPUT', message: validationMessage(err.validationContext ?? 'body', v, field), field } satisfies ErrorReply);
    }
    if (err instanceof LetheError) {
      const status = STATUS[err.code];
      if (status >= 500) req.log.error({ err }, 'workflow error');
      return reply.status(status).send({
        error: err.code,
        message: status >= 500 ? 'internal error' : err.message,
        ...(err.field ? { field: err.field } : {}),
      } satisfies ErrorReply);
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return reply.status(413).send({ error: 'BAD_INPUT', message: `body: larger than the ${app.initialConfig.bodyLimit} bytes allowed` });
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return reply.status(415).send({ error: 'BAD_INPUT', message: 'body: must be application/json' });
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(err.statusCode).send({ error: 'BAD_INPUT', message: `body: ${err.message}` });
    }
    if (isDiskFull(err)) {
      req.log.error(
        { code: err.code },
        `out of space: the store or the data folder is full (${err.code}); the request was not carried out`,
      );
      return reply
        .status(507)
        .send({ error: 'STORAGE_FULL', message: "the server's disk is full: the request was not carried out; retry once space is freed" });
    }
    req.log.error({ err }, 'unexpected error');
    return reply.status(500).send({ error: 'INTERNAL', message: 'internal error' });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ error: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );
}
