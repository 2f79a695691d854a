/**
 * The plumbing every service stands on, across real processes: two apps, each
 * with a real daprd; a request reaches one app from the other by Dapr service
 * invocation (trace and identity headers carried), a published event travels
 * through the real Kafka broker to a declarative subscription, and secrets come
 * from the secret store component.
 */
import type { Server } from 'node:http';
import { pino } from 'pino';
import { z } from 'zod';
import { cloudEventSchema, type CloudEvent } from '@caregrid/contracts';
import {
  ApiRouter,
  createServiceApp,
  DependencyUnavailableError,
  NotFoundError,
  PUBLIC,
  SIDECAR,
  Sidecar,
  newRequestContext,
  runWithContext,
} from '@caregrid/platform';
import { eventually, freePort, readTopic, renderResources, startTestSidecar, uniqueName, type RunningSidecar } from '@caregrid/devkit';

const callerId = uniqueName('e2e-caller');
const echoId = uniqueName('e2e-echo');
const topic = uniqueName('e2e-probe');
const logger = pino({ level: 'silent' });

const received: CloudEvent[] = [];
const echoRouter = new ApiRouter({ 'POST /echo': PUBLIC, 'GET /patients/:id': PUBLIC, 'POST /events/probe': SIDECAR })
  .add({
    method: 'post',
    path: '/echo',
    summary: 'echo',
    body: z.object({ hello: z.string() }),
    responses: { 200: { description: 'echo' } },
    handler: ({ body, req, res }) =>
      res.json({ received: body, userId: req.header('x-caregrid-user-id'), traceparent: req.header('traceparent') }),
  })
  .add({
    method: 'get',
    path: '/patients/:id',
    summary: 'always absent',
    responses: { 404: { description: 'absent' } },
    handler: ({ req }) => {
      throw new NotFoundError('patient', String(req.params.id));
    },
  })
  .add({
    method: 'post',
    path: '/events/probe',
    summary: 'subscription route',
    body: cloudEventSchema,
    responses: { 200: { description: 'processed' } },
    handler: ({ body, res }) => {
      received.push(body as CloudEvent);
      res.json({ status: 'SUCCESS' });
    },
  });

const servers: Server[] = [];
const sidecars: RunningSidecar[] = [];
let caller: Sidecar;

async function listen(router?: ApiRouter): Promise<number> {
  const port = await freePort();
  const server = createServiceApp({ service: 'probe', deps: { logger }, json: router ? [router] : [] }).listen(port, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return port;
}

beforeAll(async () => {
  const resources = renderResources({
    components: ['components/pubsub-events.yaml', 'components/secretstore.yaml', 'dapr/resources/resiliency.yaml'],
    scopes: [callerId, echoId],
    secrets: { [echoId]: { databaseUrl: 'postgres://probe@127.0.0.1/probe', apiKey: 'k-1' } },
    extra: [
      {
        apiVersion: 'dapr.io/v2alpha1',
        kind: 'Subscription',
        metadata: { name: `sub-${topic}` },
        spec: { pubsubname: 'events', topic, routes: { default: '/events/probe' } },
        scopes: [echoId],
      },
    ],
  });
  const [callerPort, echoPort] = await Promise.all([listen(), listen(echoRouter)]);
  sidecars.push(
    ...(await Promise.all([
      startTestSidecar({ appId: callerId, appPort: callerPort, ...resources, resourcesDir: resources.dir }),
      startTestSidecar({ appId: echoId, appPort: echoPort, ...resources, resourcesDir: resources.dir }),
    ])),
  );
  caller = new Sidecar({ appId: callerId, httpPort: sidecars[0]!.httpPort, pubsubName: 'events', secretStoreName: 'secretstore' });
  await caller.waitUntilReady();
});

afterAll(async () => {
  await Promise.all(sidecars.map((s) => s.stop()));
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await caller?.stop();
});

describe('Dapr plumbing with real sidecars and Kafka', () => {
  it('invokes a peer by app-id, carrying trace and identity headers', async () => {
    const context = newRequestContext({ 'x-caregrid-user-id': 'user-7' });
    const result = await eventually(async () => {
      const r = await runWithContext(context, () =>
        caller.invoke<{ received: unknown; userId: string; traceparent: string }>(echoId, 'POST', '/echo', { hello: 'world' }),
      );
      return r.ok ? r : undefined;
    });
    expect(result.body.received).toEqual({ hello: 'world' });
    expect(result.body.userId).toBe('user-7');
    // Same trace id end to end; the sidecars add their own spans.
    expect(result.body.traceparent.split('-')[1]).toBe(context.traceparent.split('-')[1]);
  });

  it("returns a peer's 404 problem as an answer, not an exception", async () => {
    const result = await caller.invoke(echoId, 'GET', '/patients/p-1');
    expect(result).toMatchObject({ ok: false, status: 404, body: { title: 'Not found', resource: 'patient', id: 'p-1' } });
  });

  it('reports an app-id nobody serves as an unavailable dependency', async () => {
    await expect(caller.invoke(uniqueName('nobody'), 'GET', '/x')).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('delivers a published event through Kafka to the subscriber', async () => {
    const id = await caller.publish({ topic, type: 'caregrid.probe.sent.v1', data: { n: 42 } });
    const event = await eventually(async () => received.find((e) => e.id === id));
    expect(event).toMatchObject({ type: 'caregrid.probe.sent.v1', source: callerId, data: { n: 42 }, topic });
    // The message really is on the broker's topic.
    expect(readTopic(topic)).toEqual([expect.objectContaining({ id, type: 'caregrid.probe.sent.v1', data: { n: 42 } })]);
  });

  it('reads a multi-key secret from the secret store component', async () => {
    expect(await caller.getSecret(echoId)).toEqual({ databaseUrl: 'postgres://probe@127.0.0.1/probe', apiKey: 'k-1' });
  });
});
