import type { Server } from 'node:http';
import { pino } from 'pino';
import { ApiRouter, createServiceApp, NotFoundError, PUBLIC } from '@caregrid/platform';
import { fhirApi } from '../src/http.js';

// A service with a JSON route and a FHIR part: the part's body check runs before every router,
// its OperationOutcome errors only under /fhir, the JSON API keeps problem+json.
// Both routes find nothing: what differs is how each API answers that.
const missing = (path: string) => ({
  method: 'get' as const,
  path,
  summary: 'A thing',
  responses: { 200: { description: 'the thing' } },
  handler: ({ req }: { req: { params: Record<string, unknown> } }) => {
    throw new NotFoundError('thing', String(req.params.id));
  },
});
const json = new ApiRouter({ 'GET /things/:id': PUBLIC }).add(missing('/things/:id'));
const fhir = new ApiRouter({ 'GET /fhir/Thing/:id': PUBLIC, 'POST /fhir/Thing': PUBLIC }).add(missing('/fhir/Thing/:id')).add({
  method: 'post',
  path: '/fhir/Thing',
  summary: 'Create a thing',
  responses: { 201: { description: 'created' } },
  handler: ({ res }) => {
    res.status(201).end();
  },
});

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServiceApp({ service: 'things', deps: { logger: pino({ level: 'silent' }) }, json, fhir: fhirApi(fhir) }).listen(
    0,
    '127.0.0.1',
  );
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

const answer = async (path: string, init?: RequestInit) => {
  const response = await fetch(`${base}${path}`, init);
  return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as Record<string, unknown> };
};

describe('a FHIR part given to createServiceApp', () => {
  it('answers what a FHIR route throws as an OperationOutcome', async () => {
    const { status, type, body } = await answer('/fhir/Thing/7');
    expect([status, type, body.resourceType]).toEqual([404, 'application/fhir+json; charset=utf-8', 'OperationOutcome']);
  });

  it('answers a FHIR path no route serves as a 404 OperationOutcome', async () => {
    const { status, body } = await answer('/fhir/Nothing');
    expect([status, body.resourceType]).toEqual([404, 'OperationOutcome']);
  });

  it('refuses a FHIR write that is not FHIR JSON before its route runs', async () => {
    const { status, body } = await answer('/fhir/Thing', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect([status, body.resourceType]).toEqual([415, 'OperationOutcome']);
    expect(
      (await fetch(`${base}/fhir/Thing`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: '{}' })).status,
    ).toBe(201);
  });

  it('leaves the JSON API’s errors as problem+json', async () => {
    const { status, type } = await answer('/things/7');
    expect([status, type]).toEqual([404, 'application/problem+json; charset=utf-8']);
  });
});
