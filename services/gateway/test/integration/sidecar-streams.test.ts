/**
 * A streamed invocation answer that ends early, with the real daprd we build (its
 * infra/daprd/patches). Upstream daprd 1.18 panics and exits when the caller leaves while
 * an answer streams, or when the invocation timeout fires mid-answer (dapr/dapr#10371): its
 * resiliency runner copies the answer from a goroutine that outlives the HTTP handler. One
 * impatient client (or one slow PDF) would take a sidecar down and everyone's calls with it.
 */
import { createServer, request, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { freePort, renderResources, startTestSidecar, uniqueName, type RunningSidecar } from '@caregrid/devkit';
import { createApp } from '../../src/app.js';

const callerId = uniqueName('e2e-caller');
const streamerId = uniqueName('e2e-streamer');
const CHUNK = 'x'.repeat(8 * 1024);
const TIMEOUT_MS = 1_500;

const servers: Server[] = [];
let caller: RunningSidecar;
const sidecars: RunningSidecar[] = [];

/** GET /stream?chunks=N&everyMs=M: N chunks of 8 KiB, one every M ms. */
function streamingApp(): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://app');
    if (url.pathname !== '/stream') {
      res.writeHead(req.url === '/healthz' ? 200 : 404).end();
      return;
    }
    const chunks = Number(url.searchParams.get('chunks') ?? 10);
    const everyMs = Number(url.searchParams.get('everyMs') ?? 50);
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let sent = 0;
    const timer = setInterval(() => {
      if (sent === chunks) {
        clearInterval(timer);
        res.end();
        return;
      }
      res.write(CHUNK);
      sent++;
    }, everyMs);
    res.on('close', () => clearInterval(timer));
  });
}

async function listen(): Promise<number> {
  const port = await freePort();
  const server = streamingApp().listen(port, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return port;
}

type Outcome = { status: number; bytes: number; complete: boolean; error?: string };

/** Reads an invocation's answer through the caller's sidecar; `leaveAfterBytes` hangs up mid-answer. */
function invokeStream(query: string, leaveAfterBytes?: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: caller.httpPort, path: `/v1.0/invoke/${streamerId}/method/stream?${query}` }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (leaveAfterBytes !== undefined && bytes >= leaveAfterBytes) {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, bytes, complete: false, error: 'left' });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, complete: res.complete }));
      res.on('error', (error) => resolve({ status: res.statusCode ?? 0, bytes, complete: false, error: error.message }));
    });
    req.on('error', (error) => resolve({ status: 0, bytes: 0, complete: false, error: error.message }));
    req.end();
  });
}

async function sidecarHealthy(sidecar: RunningSidecar): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${sidecar.httpPort}/v1.0/healthz`).catch(() => undefined);
  return response?.status === 204;
}

beforeAll(async () => {
  // daprd waits for its app's port, so the caller gets an app too (the same kind; never called).
  const [callerPort, streamerPort, billingPort] = await Promise.all([listen(), listen(), listen()]);
  const resources = renderResources({
    components: [],
    scopes: [callerId, streamerId],
    extra: [
      {
        apiVersion: 'dapr.io/v1alpha1',
        kind: 'Resiliency',
        metadata: { name: 'streams' },
        spec: {
          policies: { timeouts: { invoke: `${TIMEOUT_MS}ms` } },
          targets: { apps: { [streamerId]: { timeout: 'invoke' }, 'billing-service': { timeout: 'invoke' } } },
        },
        scopes: [callerId],
      },
    ],
  });
  // The gateway forwards /api/billing/… to app-id billing-service: for the caller's sidecar that
  // name is an HTTPEndpoint to the streaming app (no name-resolution entry another test could use).
  writeFileSync(
    path.join(resources.dir, 'billing-endpoint.yaml'),
    stringify({
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'HTTPEndpoint',
      metadata: { name: 'billing-service' },
      spec: { baseUrl: `http://127.0.0.1:${billingPort}` },
      scopes: [callerId],
    }),
  );
  sidecars.push(
    ...(await Promise.all([
      startTestSidecar({ appId: callerId, appPort: callerPort, ...resources, resourcesDir: resources.dir }),
      startTestSidecar({ appId: streamerId, appPort: streamerPort, ...resources, resourcesDir: resources.dir }),
    ])),
  );
  caller = sidecars[0]!;
  // Name resolution knows the streamer once its sidecar registered.
  for (let i = 0; i < 50 && (await invokeStream('chunks=1&everyMs=1')).status !== 200; i++) await new Promise((r) => setTimeout(r, 200));
});

afterAll(async () => {
  await Promise.all(sidecars.map((s) => s.stop()));
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

describe('a streamed answer cut short, through the real daprd', () => {
  it('streams a whole answer under the timeout', async () => {
    expect(await invokeStream('chunks=20&everyMs=10')).toEqual({ status: 200, bytes: 20 * CHUNK.length, complete: true });
  });

  it('callers hanging up mid-answer leave the sidecar running and serving', async () => {
    let exitedWith: number | string | undefined;
    void caller.exited.then((code) => (exitedWith = code));
    // The crash is a race (a chunk read just as the handler returns): many callers, chunks 1 ms apart.
    const refused: Outcome[] = [];
    for (let round = 0; round < 20 && exitedWith === undefined; round++) {
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) => invokeStream('chunks=400&everyMs=1', CHUNK.length * (1 + ((round + i) % 7)))),
      );
      refused.push(...outcomes.filter((o) => o.status !== 200 || o.error !== 'left'));
    }
    // The runner's goroutine writes its next chunk after the handler has gone: give it time to.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(exitedWith).toBeUndefined();
    expect(refused).toEqual([]);
    expect(await sidecarHealthy(caller)).toBe(true);
    expect(await invokeStream('chunks=5&everyMs=5')).toEqual({ status: 200, bytes: 5 * CHUNK.length, complete: true });
  });

  it('an answer still streaming when the invocation timeout fires is aborted, never handed over as if whole', async () => {
    let exitedWith: number | string | undefined;
    void caller.exited.then((code) => (exitedWith = code));
    // 40 chunks 100 ms apart: 4 s of answer against a 1.5 s timeout.
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => invokeStream('chunks=40&everyMs=100')));
    for (const outcome of outcomes) {
      expect(outcome.status).toBe(200);
      expect(outcome.complete).toBe(false);
      expect(outcome.bytes).toBeLessThan(40 * CHUNK.length);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(exitedWith).toBeUndefined();
    expect(await sidecarHealthy(caller)).toBe(true);
  });
});

describe('through the gateway', () => {
  let gateway: string;

  beforeAll(async () => {
    const app = createApp({
      logger: pino({ level: 'silent' }),
      settings: {
        sidecarHttpPort: caller.httpPort,
        corsOrigins: [],
        rateLimitPerMinute: 1_000,
        bodyLimitBytes: 1024,
        upstreamTimeoutMs: 10_000,
        trustedHops: 0,
        clinicAppDir: '/nonexistent',
      },
    });
    const server = app.listen(0, '127.0.0.1');
    servers.push(server);
    await new Promise((resolve) => server.once('listening', resolve));
    gateway = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  async function download(query: string): Promise<{ status: number; bytes: number; outcome: string }> {
    const response = await fetch(`${gateway}/api/billing/stream?${query}`, { signal: AbortSignal.timeout(8_000) });
    let bytes = 0;
    try {
      for await (const chunk of response.body!) bytes += (chunk as Uint8Array).length;
      return { status: response.status, bytes, outcome: 'whole' };
    } catch (error) {
      return { status: response.status, bytes, outcome: (error as Error).name === 'TimeoutError' ? 'hung' : 'cut short' };
    }
  }

  it('passes a whole streamed answer on', async () => {
    expect(await download('chunks=20&everyMs=5')).toEqual({ status: 200, bytes: 20 * CHUNK.length, outcome: 'whole' });
  });

  it('cuts its own answer short when the sidecar cuts the upstream answer short: no truncated body as if whole, no hang', async () => {
    const result = await download('chunks=40&everyMs=100');
    expect(result).toMatchObject({ status: 200, outcome: 'cut short' });
    expect(result.bytes).toBeLessThan(40 * CHUNK.length);
  });
});
