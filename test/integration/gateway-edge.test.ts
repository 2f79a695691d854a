/**
 * The gateway's edge, through the real gateway with its daprd (JWT policy), auth-service and
 * patient-service with theirs: what its answers tell browsers and caches (no-store on the API,
 * HSTS, /docs locked down and still rendering in Chromium), its own server limits against a
 * slowloris, and who the client is behind one proxy that appends to X-Forwarded-For
 * (TRUSTED_HOPS=1): a client writing the header itself gets no fresh rate-limit bucket.
 */
import { existsSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { chromium } from 'playwright-core';
import { jsonClient, startTestStack, type TestStack } from '@caregrid/devkit';

const HEADERS_TIMEOUT_MS = 1_500;
const MAX_CONNECTIONS = 100;
const RATE_LIMIT_PER_MINUTE = 10;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let stack: TestStack;
let gateway: URL;
let admin: Record<string, string>;
const servers: Server[] = [];

/**
 * The test speaks as the one proxy in front (TRUSTED_HOPS=1): each ordinary call says, as the
 * last X-Forwarded-For entry, which client it forwards. One client per test, so the small rate
 * limit of one never reaches another's.
 */
const asClient = (address: string) => jsonClient(gateway.origin, { 'x-forwarded-for': address });

beforeAll(async () => {
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service'],
    env: {
      gateway: {
        TRUSTED_HOPS: '1',
        RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT_PER_MINUTE),
        GATEWAY_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
        GATEWAY_REQUEST_TIMEOUT_MS: '5000',
        GATEWAY_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
      },
    },
  });
  gateway = new URL(stack.url('gateway'));
  const secret = stack.secrets()['auth-service']!;
  const login = await asClient('192.0.2.1')('POST', '/api/auth/login', {
    email: secret.bootstrapAdminEmail,
    password: secret.bootstrapAdminPassword,
  });
  expect(login.status).toBe(200);
  admin = { authorization: `Bearer ${(login.body as { accessToken: string }).accessToken}` };
}, 180_000);

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  await stack?.stop();
});

describe('what the answers tell browsers and caches', () => {
  it("a patient's record is never stored (no-store on JSON, FHIR and the gateway's own answers), its ETag still works", async () => {
    const api = asClient('192.0.2.2');
    const created = await api(
      'POST',
      '/api/patients',
      { name: 'Cache Test', email: `cache.${Date.now()}@example.org`, dateOfBirth: '1990-01-01', gender: 'other' },
      admin,
    );
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    const read = await api('GET', `/api/patients/${id}`, undefined, admin);
    expect(read.status).toBe(200);
    expect(read.headers.get('cache-control')).toBe('no-store');
    // The ETag still passes (patient-service answers no 304s, so there is no conditional read to keep).
    expect(read.headers.get('etag')).toBeTruthy();
    const fhir = await api('GET', `/api/fhir/Patient/${id}`, undefined, admin);
    expect(fhir.status).toBe(200);
    expect(fhir.headers.get('cache-control')).toBe('no-store');
    // What the gateway answers itself: the sidecar's refusal, an unknown API path.
    for (const answer of [await api('GET', `/api/patients/${id}`), await api('GET', '/api/nothing-here', undefined, admin)]) {
      expect([answer.status, answer.headers.get('cache-control')]).toEqual([answer.status, 'no-store']);
    }
  });

  it('every answer carries HSTS: the API, health, the docs, the clinic app', async () => {
    const api = asClient('192.0.2.3');
    for (const path of ['/api/patients', '/healthz', '/docs/', '/docs/openapi.json', '/app/']) {
      const answer = await api('GET', path);
      expect([path, answer.headers.get('strict-transport-security')]).toEqual([path, 'max-age=31536000; includeSubDomains']);
    }
    // Public keys stay cacheable (not patient data): auth-service's own Cache-Control passes.
    expect((await api('GET', '/.well-known/jwks.json')).headers.get('cache-control')).toBe('public, max-age=300');
  });

  it('/docs has a CSP without inline script, cannot be framed, is not sniffed', async () => {
    const answer = await fetch(new URL('/docs/', gateway));
    expect(answer.status).toBe(200);
    const csp = answer.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(answer.headers.get('x-frame-options')).toBe('DENY');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await fetch(new URL('/docs/swagger-ui-init.js', gateway))).headers.get('content-security-policy')).toBe(csp);
  });

  (existsSync(CHROMIUM) ? it : it.skip)(
    '/docs still renders in Chromium under its CSP, with no violation',
    async () => {
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
      });
      try {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('console', (message) => {
          if (message.type() === 'error') problems.push(message.text());
        });
        page.on('pageerror', (error) => problems.push(error.message));
        // Chromium logs a refused resource as a console error too; this names the directive as well.
        await page.addInitScript(
          "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP: ' + e.violatedDirective + ' ' + e.blockedURI))",
        );
        await page.goto(new URL('/docs/', gateway).href);
        // Swagger UI fetched the merged document and drew an operation of each service.
        await page.locator('.opblock-summary-path', { hasText: '/api/patients/{id}' }).first().waitFor({ timeout: 20_000 });
        await page.locator('.opblock-summary-path', { hasText: '/api/auth/login' }).first().waitFor({ timeout: 5_000 });
        expect(problems).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});

/** A connection that sends a request's headers one byte at a time, never finishing them. */
function slowClient(): { socket: Socket; closedAt: Promise<number>; received: () => string } {
  const socket = connect(Number(gateway.port), gateway.hostname);
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined);
  const trickle = 'GET /api/patients HTTP/1.1\r\nHost: caregrid\r\nX-Slow: ' + 'a'.repeat(10_000);
  let sent = 0;
  const timer = setInterval(() => {
    if (!socket.destroyed && socket.writable) socket.write(trickle[sent++ % trickle.length]!);
  }, 100);
  const closedAt = new Promise<number>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve(Date.now());
    }),
  );
  return { socket, closedAt, received: () => received };
}

describe('its own server limits', () => {
  it('a slowloris of 60 connections trickling headers: others are served meanwhile, the slow ones closed by the headers timeout', async () => {
    const api = asClient('192.0.2.4');
    const started = Date.now();
    const slow = Array.from({ length: 60 }, () => slowClient());
    // Served while every slow connection is open and trickling.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(slow.every((s) => !s.socket.destroyed)).toBe(true);
    const served = Date.now();
    expect((await api('GET', '/healthz')).status).toBe(200);
    expect((await api('GET', '/api/patients', undefined, admin)).status).toBe(200);
    expect(Date.now() - served).toBeLessThan(1_000);
    // Closed by the gateway (408), about when the headers timeout says, not at once and not never.
    const closedAfter = await Promise.all(
      slow.map((s) => Promise.race([s.closedAt.then((at) => at - started), new Promise<number>((r) => setTimeout(() => r(-1), 8_000))])),
    );
    expect(closedAfter.filter((ms) => ms < 0)).toEqual([]);
    expect(Math.min(...closedAfter)).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(Math.max(...closedAfter)).toBeLessThan(HEADERS_TIMEOUT_MS + 3_000);
    expect(slow.filter((s) => !s.received().startsWith('HTTP/1.1 408'))).toEqual([]);
    expect((await api('GET', '/healthz')).status).toBe(200);
  }, 30_000);

  it(`holds at most ${MAX_CONNECTIONS} connections: those beyond are closed at once, and it serves again once they go`, async () => {
    const sockets = await Promise.all(
      Array.from(
        { length: MAX_CONNECTIONS + 10 },
        () =>
          new Promise<{ socket: Socket; closed: () => boolean }>((resolve) => {
            let closed = false;
            const opened = () => resolve({ socket, closed: () => closed });
            const socket = connect(Number(gateway.port), gateway.hostname, opened);
            socket.on('close', () => {
              closed = true;
              opened();
            });
            socket.on('error', () => undefined);
          }),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const refused = sockets.filter((s) => s.closed()).length;
    for (const { socket } of sockets) socket.destroy();
    expect(refused).toBeGreaterThanOrEqual(10);
    expect(refused).toBeLessThan(30);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await asClient('192.0.2.5')('GET', '/healthz')).status).toBe(200);
  });
});

describe('who the client is behind one proxy (TRUSTED_HOPS=1)', () => {
  let proxy: URL;

  /** A proxy like an ingress: forwards to the gateway, appending the address it saw to X-Forwarded-For. */
  beforeAll(async () => {
    const server = createServer((req, res) => {
      const seen = req.socket.remoteAddress!.replace(/^::ffff:/, '');
      const headers: IncomingHttpHeaders = { ...req.headers };
      headers['x-forwarded-for'] = req.headers['x-forwarded-for'] ? `${String(req.headers['x-forwarded-for'])}, ${seen}` : seen;
      const upstream = request({ host: gateway.hostname, port: gateway.port, method: req.method, path: req.url, headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
  });

  /** A request through the proxy from a client at `localAddress` (another loopback address), with its own X-Forwarded-For. */
  const through = (localAddress: string, forwardedFor: string) =>
    new Promise<{ status: number; cacheControl?: string }>((resolve, reject) => {
      const req = request(
        {
          host: proxy.hostname,
          port: proxy.port,
          path: '/api/patients',
          localAddress,
          agent: false,
          headers: { 'x-forwarded-for': forwardedFor },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, cacheControl: res.headers['cache-control'] }));
        },
      );
      req.on('error', reject);
      req.end();
    });

  it('a client writing its own X-Forwarded-For gets no fresh rate-limit bucket per request; its neighbour keeps its own', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= RATE_LIMIT_PER_MINUTE + 4; i++) statuses.push((await through('127.0.0.2', `198.51.100.${i}`)).status);
    // No token: the sidecar's 401 while the client's bucket lasts, then the gateway's 429.
    expect(statuses).toEqual([...Array(RATE_LIMIT_PER_MINUTE).fill(401), 429, 429, 429, 429]);
    // Claiming to be a proxy of ours (a private address, as any pod has) changes nothing either.
    expect((await through('127.0.0.2', '10.0.0.7, 10.0.0.8')).status).toBe(429);
    // Another client behind the same proxy is not the one throttled.
    expect(await through('127.0.0.3', '198.51.100.1')).toEqual({ status: 401, cacheControl: 'no-store' });
  });
});
