/**
 * The Dapr Jobs API end to end, against the real scheduler of infra/infra.sh (embedded etcd,
 * identity from our Sentry): a job scheduled through the sidecar's /v1.0/jobs/<name> is kept by
 * the scheduler and, when due, delivered back through the sidecar to the app at POST /job/<name>
 * with the data it was scheduled with. A deleted job never fires. Appointment reminders stand on
 * exactly this path.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { DaprJobs } from '@caregrid/platform';
import { freePort, renderResources, startTestSidecar, uniqueName, eventually, type RunningSidecar } from '@caregrid/devkit';

const appId = uniqueName('jobs-probe');
const deliveries: { name: string; body: unknown; at: number }[] = [];
/** Jobs the app refuses (answers 500) this many more times, by name: an app that is down or failing. */
const refusals = new Map<string, number>();
const attempts = new Map<string, number>();
let server: Server;
let sidecar: RunningSidecar;

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => resolve(text));
  });

async function jobs(method: 'POST' | 'GET' | 'DELETE', name: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${sidecar.httpPort}/v1.0/jobs/${name}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

/** daprd 1.18 answers a missing job with 500 DAPR_SCHEDULER_GET_JOB carrying the scheduler's NotFound. */
async function jobIsGone(name: string): Promise<boolean> {
  const { status, body } = await jobs('GET', name);
  return status !== 200 && JSON.stringify(body).includes('job not found');
}

beforeAll(async () => {
  const port = await freePort();
  server = createServer((req, res) => {
    void readBody(req).then((text) => {
      const job = /^\/job\/(.+)$/.exec(req.url ?? '');
      if (req.method === 'POST' && job) {
        const name = decodeURIComponent(job[1]!);
        attempts.set(name, (attempts.get(name) ?? 0) + 1);
        const refuse = refusals.get(name) ?? 0;
        if (refuse > 0) {
          refusals.set(name, refuse - 1);
          res.writeHead(500).end();
          return;
        }
        deliveries.push({ name, body: text ? (JSON.parse(text) as unknown) : undefined, at: Date.now() });
        res.writeHead(200).end();
      } else res.writeHead(req.url === '/healthz' ? 200 : 404).end();
    });
  }).listen(port, '127.0.0.1');
  const resources = renderResources({ components: ['components/secretstore.yaml'], scopes: [appId] });
  sidecar = await startTestSidecar({ appId, appPort: port, ...resources, resourcesDir: resources.dir });
});

afterAll(async () => {
  await sidecar?.stop();
  await new Promise((resolve) => server?.close(resolve));
});

describe('Dapr jobs through the real scheduler', () => {
  it('delivers a due job back to the app once, with its data', async () => {
    const name = uniqueName('reminder');
    const scheduledAt = Date.now();
    // The scheduler answers only once this sidecar's connection to it stands: retry the first call.
    await eventually(async () =>
      (await jobs('POST', name, { dueTime: '2s', data: { appointmentId: 'a-1' } })).status === 204 ? true : undefined,
    );
    // The sidecar answers the data as a protobuf Any (a google.protobuf.Value); the app gets it plain.
    expect(await jobs('GET', name)).toMatchObject({
      status: 200,
      body: { name, dueTime: '2s', data: { value: { appointmentId: 'a-1' } } },
    });

    const delivered = await eventually(() => deliveries.find((d) => d.name === name), 30_000);
    expect(delivered.body).toEqual({ appointmentId: 'a-1' });
    expect(delivered.at - scheduledAt).toBeGreaterThanOrEqual(1_500);
    // Done: a one-shot job is gone after its delivery, and it fired once.
    await eventually(async () => ((await jobIsGone(name)) ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(deliveries.filter((d) => d.name === name)).toHaveLength(1);
  });

  it('never delivers a job deleted before it was due', async () => {
    const deleted = uniqueName('cancelled');
    const kept = uniqueName('kept');
    await eventually(async () =>
      (await jobs('POST', deleted, { dueTime: '3s', data: { appointmentId: 'a-2' } })).status === 204 ? true : undefined,
    );
    expect((await jobs('POST', kept, { dueTime: '3s', data: { appointmentId: 'a-3' } })).status).toBe(204);
    expect((await jobs('DELETE', deleted)).status).toBe(204);
    expect(await jobIsGone(deleted)).toBe(true);

    // The job scheduled beside it fires: by then the deleted one would have too.
    await eventually(() => deliveries.find((d) => d.name === kept), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(deliveries.filter((d) => d.name === deleted)).toEqual([]);
  });

  it('retries a delivery the app refused as often as the job asks (DaprJobs retry), where the default gives up after 3', async () => {
    const patient = uniqueName('patient-retry');
    const hasty = uniqueName('default-retry');
    // Five refusals: more than the scheduler's default three retries, fewer than the ten asked for.
    refusals.set(patient, 5);
    refusals.set(hasty, 5);
    const withRetry = new DaprJobs(sidecar.httpPort, { intervalMs: 500, maxRetries: 10 });
    const withDefault = new DaprJobs(sidecar.httpPort);
    await eventually(async () => {
      await withRetry.schedule(patient, new Date(Date.now() + 1_000), { appointmentId: 'a-4' });
      return true;
    });
    await withDefault.schedule(hasty, new Date(Date.now() + 1_000), { appointmentId: 'a-5' });

    const delivered = await eventually(() => deliveries.find((d) => d.name === patient), 30_000);
    expect(delivered.body).toEqual({ appointmentId: 'a-4' });
    expect(attempts.get(patient)).toBe(6);
    // The default policy: the first try and three more, then the job is dropped.
    await eventually(() => ((attempts.get(hasty) ?? 0) >= 4 ? true : undefined), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(attempts.get(hasty)).toBe(4);
    expect(deliveries.filter((d) => d.name === hasty)).toEqual([]);
  });
});
