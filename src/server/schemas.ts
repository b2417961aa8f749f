// JSON Schemas for the HTTP bodies, made from the workflow's zod schemas (one definition for the
// library, fastify's validation and the OpenAPI document).
import { z } from 'zod';

export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  return rest;
}

export const requestIdParams = {
  type: 'object',
  properties: { id: { type: 'string', pattern: '^req_[0-9a-f]{12}$', description: 'a request id (req_ + 12 hex digits)' } },
  required: ['id'],
  additionalProperties: false,
} as const;
