/**
 * daprd sends its spans to infra/infra.sh's Zipkin: the real Configuration (dapr/config, its
 * `${OTEL_EXPORTER_ZIPKIN_ENDPOINT}` expanded by daprd from the sidecar's environment), a real
 * sidecar invoking its own app with a trace id of this test's, and that trace read back from
 * Zipkin's API. With the variable empty the sidecar still serves, and exports nothing. Zipkin is
 * shared by every run: the test looks only at the trace ids it made.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import {
  eventually,
  freePort,
  freeSidecarPorts,
  freshAppIdConfigFile,
  localZipkin,
  logsDir,
  renderResources,
  startSidecar,
  uniqueName,
  type RunningSidecar,
} from '@caregrid/devkit';

type ZipkinSpan = { traceId: string; localEndpoint?: { serviceName?: string } };

const zipkin = localZipkin();
const servers: Server[] = [];
const sidecars: RunningSidecar[] = [];

/** An app answering 200 to everything, behind a real daprd with the given environment. */
async function sidecarFor(appId: string, env: Record<string, string> = {}): Promise<RunningSidecar> {
  const appPort = await freePort();
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  await new Promise<void>((resolve) => server.listen(appPort, '127.0.0.1', resolve));
  servers.push(server);
  const resources = renderResources({ components: [], scopes: [appId] });
  const sidecar = startSidecar({
    appId,
    appPort,
    ...(await freeSidecarPorts()),
    resourcesPaths: [resources.dir],
    configFile: freshAppIdConfigFile(),
    env: { CAREGRID_SECRETS_FILE: resources.secretsFile, ...env },
    logFile: path.join(logsDir, 'tests', `${appId}-daprd.log`),
  });
  sidecars.push(sidecar);
  await sidecar.waitReady();
  return sidecar;
}

/** A request through the sidecar to its own app, as part of a new trace; returns the trace id. */
async function tracedInvocation(appId: string, sidecar: RunningSidecar): Promise<string> {
  const traceId = randomBytes(16).toString('hex');
  const traceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
  // daprd invokes an app only once its own health check has seen it healthy.
  await eventually(async () => {
    const response = await fetch(`http://127.0.0.1:${sidecar.httpPort}/v1.0/invoke/${appId}/method/probe`, { headers: { traceparent } });
    return response.ok || undefined;
  });
  return traceId;
}

async function spansOf(traceId: string): Promise<ZipkinSpan[]> {
  const response = await fetch(`${zipkin.url}/api/v2/trace/${traceId}`);
  if (response.status === 404) return [];
  if (!response.ok) throw new Error(`Zipkin answered ${response.status}`);
  return (await response.json()) as ZipkinSpan[];
}

beforeAll(async () => {
  const health = await fetch(`${zipkin.url}/health`).catch((error: Error) => error);
  if (!(health instanceof Response) || !health.ok) throw new Error(`no Zipkin at ${zipkin.url}: start it (bash infra/infra.sh up zipkin)`);
});

afterAll(async () => {
  await Promise.all(sidecars.map((s) => s.stop()));
  for (const server of servers) server.close();
});

it("a sidecar's spans reach Zipkin under its app-id, in the caller's trace", async () => {
  const appId = uniqueName('trace-probe');
  const sidecar = await sidecarFor(appId);
  const traceId = await tracedInvocation(appId, sidecar);
  // daprd exports in batches (every 5 s).
  const spans = await eventually(async () => {
    const found = await spansOf(traceId);
    return found.some((s) => s.localEndpoint?.serviceName === appId) ? found : undefined;
  }, 30_000);
  expect(spans.every((s) => s.traceId === traceId)).toBe(true);
});

it('with OTEL_EXPORTER_ZIPKIN_ENDPOINT empty, the sidecar serves and exports nothing', async () => {
  const appId = uniqueName('trace-off');
  const sidecar = await sidecarFor(appId, { OTEL_EXPORTER_ZIPKIN_ENDPOINT: '' });
  const traceId = await tracedInvocation(appId, sidecar);
  // Two export intervals and more.
  await new Promise((resolve) => setTimeout(resolve, 12_000));
  expect(await spansOf(traceId)).toEqual([]);
});
