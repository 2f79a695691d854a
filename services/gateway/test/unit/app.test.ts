/**
 * The gateway app's own edge behaviour (before anything is forwarded): CORS
 * preflight, body-size limit, per-client rate limit, and an unreachable
 * sidecar answered as 503 problem+json. No sidecar runs here: its port is closed.
 */
import type { Server } from 'node:http';
import { pino } from 'pino';
import { freePort } from '@caregrid/devkit';
import { createApp } from '../../src/app.js';

let server: Server;
let base: string;

beforeAll(async () => {
  const app = createApp({
    logger: pino({ level: 'silent' }),
    settings: {
      sidecarHttpPort: await freePort(),
      corsOrigins: ['https://clinic.example'],
      rateLimitPerMinute: 3,
      bodyLimitBytes: 64,
      upstreamTimeoutMs: 2_000,
    },
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

it('answers CORS preflights itself, for allowed origins only', async () => {
  const allowed = await fetch(`${base}/api/patients`, {
    method: 'OPTIONS',
    headers: { origin: 'https://clinic.example', 'access-control-request-method': 'POST' },
  });
  expect(allowed.status).toBe(204);
  expect(allowed.headers.get('access-control-allow-origin')).toBe('https://clinic.example');
  expect(allowed.headers.get('access-control-allow-headers')).toContain('Authorization');
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
  expect(unreachable.headers.get('content-type')).toContain('application/problem+json');
  await fetch(`${base}/api/patients`); // third request of the minute's three
  const limited = await fetch(`${base}/api/patients`);
  expect(limited.status).toBe(429);
  expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  // Health is not rate-limited.
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
});

it('answers unknown paths with 404 problem+json, not by forwarding', async () => {
  const response = await fetch(`${base}/v1.0/metadata`);
  expect(response.status).toBe(404);
});
