/**
 * `npm test` beside a running `npm run dev`: no event crosses between them, either way. Test
 * stacks publish and subscribe on the tests' broker, the dev system on its own (the sidecars'
 * KAFKA_BROKERS), with the same topics, components and Subscriptions. Real processes on both
 * sides: a test stack (patient-service, analytics-service) and, for the dev system, a daprd with
 * the dev configuration's pub/sub (sidecarEnvironment(): the dev broker), publishing as
 * patient-service does there.
 *
 * What this test itself publishes the dev way is a `patient.updated` of a patient no one has: the
 * one event a running dev system's analytics stores (its only consumer) without any report
 * counting it, so the dev system's counts, invoices and care relations stay as they were.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { patientCreated, patientUpdated, Topics } from '@caregrid/contracts';
import {
  eventually,
  freePort,
  freeSidecarPorts,
  freshAppIdConfigFile,
  jsonClient,
  kcatAsAdmin,
  logsDir,
  readTopic,
  renderResources,
  sidecarEnvironment,
  startSidecar,
  startTestStack,
  uniqueName,
  stackSigningKey,
  viaGatewayAs,
  type RunningSidecar,
  type TestStack,
} from '@caregrid/devkit';

/** Where `npm run dev`'s sidecars publish and its consumers read. */
const devBrokers = sidecarEnvironment().KAFKA_BROKERS!;

let stack: TestStack;
let devPublisher: RunningSidecar;
let mongo: MongoClient;

beforeAll(async () => {
  // auth-service: patient-service verifies the callers' tokens against its key set.
  stack = await startTestStack({ apps: ['auth-service', 'patient-service', 'analytics-service'] });
  mongo = new MongoClient(stack.secrets()['analytics-service']!.databaseUrl!, { serverSelectionTimeoutMS: 5_000 });

  // patient-service's topic scopes under an app-id of its own (renderResources), its own name
  // registry; the dev system's broker, as the launcher's sidecars get it.
  const appId = uniqueName('patient-service');
  const resources = renderResources({ components: ['components/pubsub-events.yaml'], scopes: [appId] });
  devPublisher = startSidecar({
    appId,
    appPort: await freePort(),
    ...(await freeSidecarPorts()),
    resourcesPaths: [resources.dir],
    configFile: freshAppIdConfigFile(),
    env: {
      KAFKA_BROKERS: devBrokers,
      CAREGRID_SECRETS_FILE: resources.secretsFile,
      CAREGRID_NAME_RESOLUTION_DB: path.join(mkdtempSync(path.join(tmpdir(), 'caregrid-dev-publisher-')), 'nameresolution.db'),
    },
    logFile: path.join(logsDir, 'tests', `${appId}-daprd.log`),
  });
  await devPublisher.waitReady();
}, 180_000);

afterAll(async () => {
  await mongo?.close();
  await devPublisher?.stop();
  await stack?.stop();
});

/** A patient created through the stack's patient-service, as its sidecar would call it for the gateway. */
async function createPatient(): Promise<string> {
  const member = stack.member('patient-service');
  const send = jsonClient(stack.url('patient-service'), {
    ...viaGatewayAs({ roles: ['admin'] }, stackSigningKey(stack.secrets())),
    'dapr-api-token': member.appApiToken!,
  });
  const response = await send('POST', '/patients', {
    name: 'Isolation Probe',
    email: `isolation.${randomUUID()}@example.org`,
    dateOfBirth: '1980-05-17',
    gender: 'unknown',
  });
  expect(response.status).toBe(201);
  return (response.body as { id: string }).id;
}

/** What the stack's analytics stored (its events collection: each event under its CloudEvent id). */
const storedByStack = (filter: Record<string, unknown>) => mongo.db().collection<{ _id: string }>('events').find(filter).toArray();

/** Messages on the dev broker's CareGrid topics (those that exist there) that mention `text`. */
function onDevBroker(text: string): { topic: string; message: unknown }[] {
  const listing = JSON.parse(execFileSync('kcat', [...kcatAsAdmin(devBrokers), '-L', '-J', '-m', '5'], { encoding: 'utf8' })) as {
    topics: { topic: string }[];
  };
  const existing = new Set(listing.topics.map((t) => t.topic));
  return Object.values(Topics)
    .filter((topic) => existing.has(topic))
    .flatMap((topic) => readTopic(topic, devBrokers).map((message) => ({ topic, message })))
    .filter(({ message }) => JSON.stringify(message).includes(text));
}

it("a test stack's events never reach the dev broker, where the dev system's consumers read", async () => {
  const patientId = await createPatient();
  // The event went out, in the test system: its own analytics stored it.
  await eventually(
    async () => (await storedByStack({ type: patientCreated.type, 'data.patientId': patientId })).length === 1 || undefined,
    60_000,
  );

  expect(onDevBroker(patientId)).toEqual([]);
}, 120_000);

it("an event published the dev way never reaches a test stack's analytics", async () => {
  const patientId = randomUUID();
  const probe = {
    specversion: '1.0',
    id: randomUUID(),
    source: 'patient-service',
    type: patientUpdated.type,
    subject: patientId,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: { patientId, name: 'Dev Probe', email: 'dev.probe@example.org', gender: 'unknown', dateOfBirth: '1980-05-17', userId: null },
  };
  patientUpdated.parse(probe); // a valid event: were it delivered, analytics would store it
  const published = await fetch(`http://127.0.0.1:${devPublisher.httpPort}/v1.0/publish/events/${Topics.patients}`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json' },
    body: JSON.stringify(probe),
  });
  expect(published.status).toBe(204);
  await eventually(() => (onDevBroker(probe.id).length > 0 ? true : undefined), 30_000);

  // The stack's own event on the same topic, published after the probe: once analytics has it,
  // it would have had the probe too (one partition, read in order) had the probe reached it.
  const ownPatientId = await createPatient();
  await eventually(
    async () => (await storedByStack({ type: patientCreated.type, 'data.patientId': ownPatientId })).length === 1 || undefined,
    60_000,
  );

  expect(await storedByStack({ _id: probe.id })).toEqual([]);
  expect(await storedByStack({ 'data.patientId': patientId })).toEqual([]);
}, 120_000);
