/**
 * The gateway app's own edge behaviour (before anything is forwarded): CORS
 * preflight, body-size limit, per-client rate limit (who the client is), odd
 * paths, and an unreachable sidecar answered as 503 problem+json. No sidecar
 * runs here: its port is closed, so anything forwarded answers 503.
 */
import type { Server } from 'node:http';
import { pino } from 'pino';
import { freePort } from '@caregrid/devkit';
import { createApp } from '../../src/app.js';

const servers: Server[] = [];
let base: string;

async function startGateway(overrides: { rateLimitPerMinute?: number; trustedHops?: number } = {}): Promise<string> {
  const app = createApp({
    logger: pino({ level: 'silent' }),
    settings: {
      sidecarHttpPort: await freePort(),
      corsOrigins: ['https://clinic.example'],
      rateLimitPerMinute: overrides.rateLimitPerMinute ?? 3,
      bodyLimitBytes: 64,
      upstreamTimeoutMs: 2_000,
      trustedHops: overrides.trustedHops ?? 0,
      clinicAppDir: '/nonexistent',
    },
  });
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

beforeAll(async () => {
  base = await startGateway();
});

afterAll(() => Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve)))));

it('answers CORS preflights itself, for allowed origins only', async () => {
  const allowed = await fetch(`${base}/api/patients`, {
    method: 'OPTIONS',
    headers: { origin: 'https://clinic.example', 'access-control-request-method': 'POST' },
  });
  expect(allowed.status).toBe(204);
  expect(allowed.headers.get('access-control-allow-origin')).toBe('https://clinic.example');
  expect(allowed.headers.get('access-control-allow-headers')).toContain('Authorization');
  // A browser client may send an Idempotency-Key and read whether the answer was a replay.
  expect(allowed.headers.get('access-control-allow-headers')).toContain('Idempotency-Key');
  // And FHIR's conditional writes: If-Match, If-None-Exist, reading the ETag and Location.
  expect(allowed.headers.get('access-control-allow-headers')).toContain('If-None-Exist');
  expect(allowed.headers.get('access-control-expose-headers')).toContain('ETag');
  expect(allowed.headers.get('access-control-expose-headers')).toContain('Idempotent-Replayed');
  const other = await fetch(`${base}/api/patients`, {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
  });
  expect(other.headers.get('access-control-allow-origin')).toBeNull();
});

it('refuses a body over the limit with 413, an unreachable sidecar with 503, then rate-limits with 429', async () => {
  const big = await fetch(`${base}/api/patients`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ x: 'y'.repeat(100) }),
  });
  expect(big.status).toBe(413);
  const unreachable = await fetch(`${base}/api/patients`);
  expect(unreachable.status).toBe(503);
  expect(unreachable.headers.get('retry-after')).toBe('1');
  expect(unreachable.headers.get('content-type')).toContain('application/problem+json');
  await fetch(`${base}/api/patients`); // third request of the minute's three
  const limited = await fetch(`${base}/api/patients`);
  expect(limited.status).toBe(429);
  expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  // The gateway's own answers under /api/ are not stored either; every answer asks for HTTPS.
  for (const answer of [big, unreachable, limited]) expect(answer.headers.get('cache-control')).toBe('no-store');
  // Health is not rate-limited.
  const health = await fetch(`${base}/healthz`);
  expect(health.status).toBe(200);
  expect(health.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  expect(health.headers.get('cache-control')).toBeNull();
});

it('answers unknown paths with 404 problem+json, not by forwarding', async () => {
  const response = await fetch(`${base}/v1.0/metadata`);
  expect(response.status).toBe(404);
});

describe('who the client is, for the rate limit', () => {
  const statuses = async (url: string, forwardedFor: string[]) => {
    const out: number[] = [];
    for (const value of forwardedFor) out.push((await fetch(`${url}/api/patients`, { headers: { 'x-forwarded-for': value } })).status);
    return out;
  };

  it('with no trusted hops, X-Forwarded-For is ignored: a new value each time does not escape the limit', async () => {
    const url = await startGateway({ rateLimitPerMinute: 2 });
    expect(await statuses(url, ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4'])).toEqual([503, 503, 429, 429]);
  });

  it('behind one trusted hop, each forwarded client has its own budget', async () => {
    const url = await startGateway({ rateLimitPerMinute: 2, trustedHops: 1 });
    expect(await statuses(url, ['203.0.113.7', '203.0.113.7', '203.0.113.7'])).toEqual([503, 503, 429]);
    // Another client behind the same proxy is not affected; a spoofed hop left of the real one changes nothing.
    expect(await statuses(url, ['203.0.113.8', '198.51.100.1, 203.0.113.7'])).toEqual([503, 429]);
  });
});

describe('odd paths', () => {
  it('answers 400 problem+json and never forwards them (a forwarded request would be 503 here)', async () => {
    const url = await startGateway({ rateLimitPerMinute: 1_000 });
    for (const path of [
      '/api/patients/%23',
      '/api/patients/x%00',
      '/api/billing/invoices/q%1E',
      '/api/patients/%zz',
      '/api/patients/%7f',
      '/api/patients/%',
    ]) {
      const response = await fetch(`${url}${path}`);
      expect([path, response.status]).toEqual([path, 400]);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(await response.json()).toMatchObject({ type: 'urn:caregrid:problem:invalid', status: 400 });
    }
    expect((await fetch(`${url}/api/patients/a%20b`)).status).toBe(503); // ordinary encoding is forwarded
  });
});

it('serves the CapabilityStatement of the routes the services serve, read only (other methods: 405, Allow: GET)', async () => {
  const gateway = await startGateway({ rateLimitPerMinute: 100 });
  const read = await fetch(`${gateway}/api/fhir/metadata`);
  const statement = (await read.json()) as { rest: { resource: { type: string; interaction: { code: string }[] }[] }[] };
  const interactions = Object.fromEntries(statement.rest[0]!.resource.map((r) => [r.type, r.interaction.map((i) => i.code)]));
  expect([read.status, interactions.Patient, interactions.Appointment]).toEqual([
    200,
    ['read', 'update', 'patch', 'create', 'search-type'],
    ['read', 'update', 'patch', 'create', 'search-type'],
  ]);
  const posted = await fetch(`${gateway}/api/fhir/metadata`, { method: 'POST' });
  const outcome = (await posted.json()) as { resourceType: string; issue: { code: string }[] };
  expect([posted.status, posted.headers.get('allow'), outcome.resourceType, outcome.issue[0]!.code]).toEqual([
    405,
    'GET',
    'OperationOutcome',
    'not-supported',
  ]);
});
