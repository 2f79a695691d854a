import type { Server } from 'node:http';
import { pino } from 'pino';
import { z } from 'zod';
import { ConflictError, NotFoundError, RuleViolationError, ThrottledError } from '../src/errors.js';
import { createServiceApp } from '../src/http/app.js';
import { nulPaths } from '../src/http/nul-guard.js';
import { ApiRouter } from '../src/http/routes.js';
import { PUBLIC } from '../src/access/model.js';
import { propagationHeaders } from '../src/context.js';

const thing = z.strictObject({ name: z.string().min(1), count: z.number().int().nonnegative() });

// Every route public: these tests are about validation, errors and context, not access.
const router = new ApiRouter({
  'POST /things': PUBLIC,
  'GET /things/:id': PUBLIC,
  'GET /echo-context': PUBLIC,
  'GET /rule': PUBLIC,
  'GET /throttled': PUBLIC,
  'GET /boom': PUBLIC,
})
  .add({
    method: 'post',
    path: '/things',
    summary: 'Create a thing',
    body: thing,
    responses: { 201: { description: 'created', schema: thing }, 409: { description: 'duplicate' } },
    handler: ({ body, res }) => {
      if (body.name === 'taken') throw new ConflictError('name is taken', { name: body.name });
      res.status(201).json(body);
    },
  })
  .add({
    method: 'get',
    path: '/things/:id',
    summary: 'Read a thing',
    params: z.object({ id: z.uuid() }),
    query: z.object({ verbose: z.enum(['true', 'false']).optional() }),
    responses: { 200: { description: 'the thing' }, 404: { description: 'absent' } },
    handler: ({ params }) => {
      throw new NotFoundError('thing', params.id);
    },
  })
  .add({
    method: 'get',
    path: '/echo-context',
    summary: 'Headers an outgoing call would carry',
    responses: { 200: { description: 'headers' } },
    handler: ({ res }) => res.json(propagationHeaders()),
  })
  .add({
    method: 'get',
    path: '/rule',
    summary: 'rule',
    responses: {},
    handler: () => {
      throw new RuleViolationError('doctor is not accepting', { doctorId: 'd1' });
    },
  })
  .add({
    method: 'get',
    path: '/throttled',
    summary: 'throttled',
    responses: {},
    handler: () => {
      throw new ThrottledError('slow down', 7);
    },
  })
  .add({
    method: 'get',
    path: '/boom',
    summary: 'bug',
    responses: {},
    handler: () => {
      throw new Error('SELECT * FROM secrets at db.internal:5432');
    },
  });

let dbUp = true;
let server: Server;
let base: string;

beforeAll(async () => {
  const app = createServiceApp({
    service: 'test-service',
    deps: {
      logger: pino({ level: 'silent' }),
      readiness: [
        {
          name: 'database',
          check: async () => {
            if (!dbUp) throw new Error('connection refused');
          },
        },
      ],
    },
    json: [router],
    bodyLimit: '1kb',
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

const post = (path: string, body: string, contentType = 'application/json') =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });

describe('service app', () => {
  it('accepts a valid body', async () => {
    const response = await post('/things', JSON.stringify({ name: 'a', count: 1 }));
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ name: 'a', count: 1 });
  });

  it('answers 400 problem+json listing every invalid and unknown field', async () => {
    const response = await post('/things', JSON.stringify({ name: '', count: -1, extra: true }));
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await response.json()) as { status: number; errors: { path: string }[] };
    expect(problem.status).toBe(400);
    expect(problem.errors.map((e) => e.path).sort()).toEqual(['body', 'body.count', 'body.name']);
  });

  it('answers 400 for malformed JSON and 413 for a body over the limit', async () => {
    const malformed = await post('/things', '{"name": ');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { detail: string }).detail).toMatch(/not valid JSON/);
    const large = await post('/things', JSON.stringify({ name: 'x'.repeat(2048), count: 1 }));
    expect(large.status).toBe(413);
  });

  it('refuses NUL characters (PostgreSQL stores them in neither text nor jsonb) with 400 naming each field', async () => {
    const response = await post('/things', JSON.stringify({ name: 'a\u0000b', count: 1, 'k\u0000': { deep: ['ok', '\u0000'] } }));
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(((await response.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(['body.k\u0000', 'body.name']);
    const query = await fetch(`${base}/things/1b4e28ba-2fa1-11d2-883f-0016d3cca427?verbose=%00&a[b]=x%00`);
    expect(query.status).toBe(400);
    expect(((await query.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(['query.a.b', 'query.verbose']);
  });

  it('walks a deeply nested body without overflowing the stack', () => {
    let deep: unknown = '\u0000';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(nulPaths(deep, 'body')).toHaveLength(1);
  });

  it('maps domain errors to 404, 409, 422 and 429 with their details', async () => {
    const missing = await fetch(`${base}/things/1b4e28ba-2fa1-11d2-883f-0016d3cca427`);
    expect(missing.status).toBe(404);
    const conflict = await post('/things', JSON.stringify({ name: 'taken', count: 0 }));
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toMatchObject({ title: 'Conflict', name: 'taken', instance: '/things' });
    const rule = await fetch(`${base}/rule`);
    expect(rule.status).toBe(422);
    expect(await rule.json()).toMatchObject({ doctorId: 'd1' });
    const throttled = await fetch(`${base}/throttled`);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('7');
  });

  it('rejects a malformed path parameter with 400, not 404 or 500', async () => {
    const response = await fetch(`${base}/things/not-a-uuid`);
    expect(response.status).toBe(400);
  });

  it('hides internals of unexpected errors', async () => {
    const response = await fetch(`${base}/boom`);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain('SELECT');
    expect(text).not.toContain('at ');
  });

  it('answers 404 problem for unknown routes', async () => {
    const response = await fetch(`${base}/nope`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
  });

  it('reports health always and readiness from its checks', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    dbUp = false;
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'not-ready', checks: { database: 'failed: connection refused' } });
    dbUp = true;
  });

  it("carries the request id, the client's id and the traceparent of an invocation into outgoing calls", async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const response = await fetch(`${base}/echo-context`, {
      headers: {
        traceparent,
        'dapr-caller-app-id': 'gateway',
        'x-request-id': 'req-42',
        'x-client-request-id': 'mine-42',
        'x-caregrid-user-id': 'u7',
      },
    });
    expect(response.headers.get('x-request-id')).toBe('req-42');
    expect(await response.json()).toEqual({
      traceparent,
      'x-request-id': 'req-42',
      'x-client-request-id': 'mine-42',
      'x-caregrid-user-id': 'u7',
    });
  });

  it('mints the request id of a request that did not come by invocation (its own sidecar: events, triggers)', async () => {
    const response = await fetch(`${base}/echo-context`, { headers: { 'x-request-id': 'req-43', 'x-client-request-id': 'mine-43' } });
    const minted = response.headers.get('x-request-id');
    expect(minted).not.toBe('req-43');
    expect(await response.json()).toEqual({ traceparent: expect.any(String), 'x-request-id': minted });
  });

  it('serves an OpenAPI document generated from the zod schemas', async () => {
    const document = (await (await fetch(`${base}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: { content: Record<string, { schema: { required: string[]; additionalProperties: boolean } }> };
            parameters: { name: string; in: string }[];
          }
        >
      >;
    };
    expect(document.openapi).toBe('3.1.0');
    const create = document.paths['/things']!.post!;
    expect(create.requestBody!.content['application/json']!.schema).toMatchObject({
      required: ['name', 'count'],
      additionalProperties: false,
    });
    expect(document.paths['/things/{id}']!.get!.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'id', in: 'path' }),
        expect.objectContaining({ name: 'verbose', in: 'query' }),
      ]),
    );
  });
});

describe('the public entry (the gateway)', () => {
  let entry: Server;
  let entryBase: string;

  beforeAll(async () => {
    const app = createServiceApp({ service: 'test-gateway', deps: { logger: pino({ level: 'silent' }) }, json: router, publicEntry: true });
    entry = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => entry.once('listening', resolve));
    entryBase = `http://127.0.0.1:${(entry.address() as { port: number }).port}`;
  });

  afterAll(() => new Promise((resolve) => entry.close(resolve)));

  it("answers its own request id and starts its own trace; the client's id goes beside it, its identity claims nowhere", async () => {
    const clientTrace = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const response = await fetch(`${entryBase}/echo-context`, {
      headers: {
        traceparent: clientTrace,
        'x-request-id': 'mine-123',
        'x-client-request-id': 'forged',
        'dapr-caller-app-id': 'gateway',
        'x-caregrid-roles': 'admin',
      },
    });
    const minted = response.headers.get('x-request-id');
    expect(minted).toMatch(/^[0-9a-f-]{36}$/);
    const passedOn = (await response.json()) as Record<string, string>;
    expect(passedOn).toEqual({ traceparent: expect.any(String), 'x-request-id': minted, 'x-client-request-id': 'mine-123' });
    expect(passedOn.traceparent!.split('-')[1]).not.toBe(clientTrace.split('-')[1]);
  });
});
