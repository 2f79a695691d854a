import { z } from 'zod';
import { idempotencyParameter, REPLAYED_RESPONSE_HEADER, withIdempotencyAnswers } from './idempotency.js';
import type { RouteRecord } from './routes.js';

type JsonSchema = Record<string, unknown>;

const toSchema = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
};

const problemSchema: JsonSchema = {
  type: 'object',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};

/** Express `/a/:id` → OpenAPI `/a/{id}`. */
export const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

function parameters(schema: z.ZodType | undefined, location: 'query' | 'path'): JsonSchema[] {
  if (!schema) return [];
  const json = toSchema(schema, 'input');
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || required.has(name),
    schema: property,
  }));
}

/** OpenAPI 3.1 document (JSON Schema 2020-12 dialect, which zod 4 emits) from route records. */
export function buildOpenApiDocument(info: { title: string; version: string }, routes: RouteRecord[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.idempotent ? withIdempotencyAnswers(route.responses) : route.responses)) {
      const contentType = response.contentType ?? (Number(status) >= 400 ? 'application/problem+json' : 'application/json');
      const schema = response.schema ? toSchema(response.schema, 'output') : Number(status) >= 400 ? problemSchema : undefined;
      responses[status] = {
        description: response.description,
        ...(route.idempotent && Number(status) < 300 ? { headers: REPLAYED_RESPONSE_HEADER } : {}),
        ...(schema || response.contentType ? { content: { [contentType]: { schema: schema ?? {} } } } : {}),
      };
    }
    const operation: Record<string, unknown> = {
      summary: route.summary,
      tags: route.tags,
      parameters: [
        ...parameters(route.params, 'path'),
        ...parameters(route.query, 'query'),
        ...(route.idempotent ? [idempotencyParameter()] : []),
      ],
      responses,
      // Who may call it, from the access model (public routes need no token).
      'x-caregrid-access': route.access,
      ...(route.access === 'public' ? { security: [] } : {}),
    };
    if (route.body) {
      operation.requestBody = { required: true, content: { 'application/json': { schema: toSchema(route.body, 'input') } } };
    }
    const path = openApiPath(route.path);
    paths[path] = { ...paths[path], [route.method]: operation };
  }
  return { openapi: '3.1.0', info, paths, components: { schemas: { Problem: problemSchema } } };
}
