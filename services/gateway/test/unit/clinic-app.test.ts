/**
 * The clinic app as the gateway serves it at /app: a strict CSP on every answer,
 * hashed assets immutable, index.html revalidated and answering every client
 * route, a missing asset 404 (not the page), and an unbuilt app a 503 problem
 * that says how to build it. No sidecar: /app never leaves the gateway app.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { freePort, repoRoot } from '@caregrid/devkit';
import { createApp } from '../../src/app.js';
import { defaultClinicAppDir } from '../../src/http/clinic-app.js';

const servers: Server[] = [];
const dir = mkdtempSync(path.join(tmpdir(), 'clinic-app-'));

async function gatewayServing(clinicAppDir: string): Promise<string> {
  const app = createApp({
    logger: pino({ level: 'silent' }),
    settings: {
      sidecarHttpPort: await freePort(),
      corsOrigins: [],
      rateLimitPerMinute: 1_000,
      bodyLimitBytes: 1024,
      upstreamTimeoutMs: 2_000,
      trustedHops: 0,
      clinicAppDir,
    },
  });
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

beforeAll(() => {
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(
    path.join(dir, 'index.html'),
    '<!doctype html><title>app</title><script type="module" src="/app/assets/main-ABC123.js"></script>',
  );
  writeFileSync(path.join(dir, 'assets', 'main-ABC123.js'), 'console.log(1)');
});

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

it('serves index.html for /app and every client route, revalidated, under a CSP without inline script', async () => {
  const base = await gatewayServing(dir);
  for (const route of ['/app', '/app/', '/app/schedule', '/app/patients/deep/link']) {
    const response = await fetch(`${base}${route}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(await response.text()).toContain('/app/assets/main-ABC123.js');
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  }
});

it('serves hashed assets immutable for a year, and a missing asset as 404 problem+json, not the page', async () => {
  const base = await gatewayServing(dir);
  const asset = await fetch(`${base}/app/assets/main-ABC123.js`);
  expect(asset.status).toBe(200);
  expect(asset.headers.get('content-type')).toContain('javascript');
  expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  const missing = await fetch(`${base}/app/assets/main-OLD.js`);
  expect(missing.status).toBe(404);
  expect(missing.headers.get('content-type')).toContain('application/problem+json');
  // Climbing out of the assets folder finds nothing.
  expect((await fetch(`${base}/app/assets/..%2Findex.html`)).status).toBe(404);
});

it('answers 503 problem+json saying how to build the app when it is not built, and keeps serving the rest', async () => {
  const base = await gatewayServing(path.join(dir, 'not-built'));
  const response = await fetch(`${base}/app/schedule`);
  expect(response.status).toBe(503);
  expect(response.headers.get('content-type')).toContain('application/problem+json');
  expect(((await response.json()) as { detail: string }).detail).toContain('npm run build:app');
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
});

it('finds the built app from the sources (src/http) and from the bundle (dist/main.js) alike', () => {
  const expected = path.join(repoRoot, 'packages', 'clinic-app', 'dist');
  expect(defaultClinicAppDir(path.join(repoRoot, 'services', 'gateway', 'src', 'http'))).toBe(expected);
  expect(defaultClinicAppDir(path.join(repoRoot, 'services', 'gateway', 'dist'))).toBe(expected);
});
