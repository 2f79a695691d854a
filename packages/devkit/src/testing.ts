import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type { Express } from 'express';
import { PUBSUB_COMPONENT, TOKEN_AUDIENCE, TOKEN_ISSUER } from '@caregrid/contracts';
import type { JSONWebKeySet, JWK } from 'jose';
import {
  OutboxRelay,
  outboxAuditSink,
  Sidecar,
  TokenVerifier,
  type AuditSink,
  type DatabaseOpener,
  type IdempotencyStore,
  type Logger,
  type OutboxStore,
} from '@caregrid/platform';
import { MongoClient, type Db } from 'mongodb';
import { pino } from 'pino';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { startSidecar, type MtlsSettings, type RunningSidecar } from './daprd.js';
import { kafkaCredentials, kcatAsAdmin } from './kafka-auth.js';
import { testKafkaBrokers } from './kafka-groups.js';
import { localScheduler, logsDir, repoRoot } from './paths.js';
import { dropDatabase, provisionDatabase, type DatabaseEngine } from './provision.js';
import { dropAuditTrail, provisionAuditTrail, type AuditTrailAccess } from './audit-trail.js';

/** A name no other test file (or earlier run) uses: topics, app-ids, databases. */
export const uniqueName = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

/** The label a uniqueName was made from (`doctor-service-1a2b3c4d` → `doctor-service`), or undefined for other names. */
export const labelOf = (name: string) => /^(.+)-[0-9a-f]{8}$/.exec(name)?.[1];

// Below Linux's ephemeral range (32768+): a port handed out here cannot be taken
// by an outgoing connection between the check and the process binding it.
const PORT_RANGE = { from: 20_000, to: 32_000 };
let nextPort = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from));

const canBind = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** A port nothing listens on, for a test's app or sidecar. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 1_000; attempt++) {
    const port = nextPort;
    nextPort = nextPort + 1 >= PORT_RANGE.to ? PORT_RANGE.from : nextPort + 1;
    if (await canBind(port)) return port;
  }
  throw new Error('no free port below the ephemeral range');
}

/** The four ports a daprd listens on, all free (every sidecar gets its own internal gRPC port). */
export async function freeSidecarPorts(): Promise<{
  daprHttpPort: number;
  daprGrpcPort: number;
  daprInternalGrpcPort: number;
  metricsPort: number;
}> {
  return {
    daprHttpPort: await freePort(),
    daprGrpcPort: await freePort(),
    daprInternalGrpcPort: await freePort(),
    metricsPort: await freePort(),
  };
}

/** A database of its own for one test file, on the real local server. */
export async function freshDatabase(engine: DatabaseEngine, label: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `t_${label}_${randomBytes(4).toString('hex')}`.replace(/-/g, '_');
  const url = await provisionDatabase(engine, name);
  return { url, drop: () => dropDatabase(engine, name) };
}

/**
 * An audit trail of its own for one test file, on the real ferretdb-audit, signed in as its two
 * logins (`writer`, `retention`); `close` signs out and drops it.
 */
export async function freshAuditTrail(
  label: string,
): Promise<{ access: AuditTrailAccess; writer: Db; retention: Db; close: () => Promise<void> }> {
  const name = `t_${label}_audit_${randomBytes(4).toString('hex')}`.replace(/-/g, '_');
  const access = await provisionAuditTrail(name);
  const clients = [new MongoClient(access.auditWriterUrl), new MongoClient(access.auditRetentionUrl)] as const;
  await Promise.all(clients.map((client) => client.connect()));
  return {
    access,
    writer: clients[0].db(),
    retention: clients[1].db(),
    close: async () => {
      await Promise.all(clients.map((client) => client.close()));
      await dropAuditTrail(name);
    },
  };
}

/**
 * A resources directory for test sidecars made from the real files under
 * components/ and dapr/resources/, with `scopes` pointed at the test's
 * app-ids; extra resources (e.g. a Subscription) are added as given.
 */
export function renderResources(options: {
  components: string[];
  scopes: string[];
  extra?: Record<string, unknown>[];
  secrets?: Record<string, Record<string, string>>;
}): { dir: string; secretsFile: string } {
  const base = mkdtempSync(path.join(tmpdir(), 'caregrid-resources-'));
  const dir = path.join(base, 'resources');
  mkdirSync(dir);
  const documents: unknown[] = [];
  for (const file of options.components) {
    for (const doc of parseAllDocuments(readFileSync(path.join(repoRoot, file), 'utf8'))) {
      const resource = doc.toJS() as Record<string, unknown>;
      if ('scopes' in resource) resource.scopes = options.scopes;
      renameTopicScopes(resource, options.scopes);
      setKafkaLogin(resource, options.scopes);
      documents.push(resource);
    }
  }
  documents.push(...(options.extra ?? []));
  // Owner-only: the pub/sub component holds a Kafka password.
  documents.forEach((resource, index) => writeFileSync(path.join(dir, `${index}.yaml`), stringify(resource), { mode: 0o600 }));
  // Outside the resources directory: daprd would try to read it as a resource.
  const secretsFile = path.join(base, 'secrets.json');
  writeFileSync(secretsFile, JSON.stringify(options.secrets ?? {}), { mode: 0o600 });
  return { dir, secretsFile };
}

/**
 * The broker knows the real app-ids' users only (infra/kafka/KafkaAccess.java): test app-ids
 * made from a real one (`doctor-service-1a2b3c4d`) log in as that app, and so get exactly its
 * ACLs; probes with no real app behind them (`e2e-caller-…`) log in as the admin, to the topics
 * of their own no service may use. The login is written into the rendered component (a
 * temporary, owner-only file) instead of the sidecar's environment.
 */
function setKafkaLogin(resource: Record<string, unknown>, appIds: string[]): void {
  const spec = resource.spec as { type?: string; metadata?: { name: string; value?: string; envRef?: string }[] } | undefined;
  if (spec?.type !== 'pubsub.kafka') return;
  testKafkaBrokers(); // started on demand, it writes the credentials
  const credentials = kafkaCredentials();
  const users = [
    ...new Set(appIds.map((id) => (credentials[id] ? id : labelOf(id))).filter((app) => app && app !== 'admin' && credentials[app])),
  ];
  if (users.length > 1) throw new Error(`renderResources: one Kafka login per rendered pub/sub component, not ${users.join(' and ')}`);
  const user = users[0] ?? 'admin';
  const password = credentials[user];
  if (!password) throw new Error(`no Kafka password for ${user}: run infra/infra.sh up kafka-test first`);
  for (const item of spec.metadata ?? []) {
    if (item.name === 'saslUsername') item.value = user;
    if (item.name === 'saslPassword') {
      delete item.envRef;
      item.value = password;
    }
  }
}

/**
 * A test app-id made by uniqueName from a real one (`doctor-service-1a2b3c4d`) gets that
 * app's topic scopes (publishingScopes, subscriptionScopes): the test app may publish and read
 * exactly what the real service may.
 */
function renameTopicScopes(resource: Record<string, unknown>, appIds: string[]): void {
  const metadata = (resource.spec as { metadata?: { name: string; value?: string }[] } | undefined)?.metadata ?? [];
  for (const item of metadata) {
    if (!/^(publishing|subscription)Scopes$/.test(item.name) || !item.value) continue;
    item.value = item.value
      .split(';')
      .map((entry) => {
        const [app, topics] = entry.split('=');
        const test = appIds.find((id) => labelOf(id) === app);
        return test ? `${test}=${topics}` : entry;
      })
      .join(';');
  }
}

let freshAppIdConfig: string | undefined;

/**
 * dapr/config/caregrid.yaml (mTLS on) without its access control list: the
 * list names the real app-ids only, and test sidecars with app-ids of their
 * own invoke each other. Test stacks (real app-ids) keep the real list.
 */
export function freshAppIdConfigFile(): string {
  if (freshAppIdConfig) return freshAppIdConfig;
  const config = parseAllDocuments(readFileSync(path.join(repoRoot, 'dapr', 'config', 'caregrid.yaml'), 'utf8'))[0]!.toJS() as {
    spec: Record<string, unknown>;
  };
  delete config.spec.accessControl;
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'caregrid-config-')), 'caregrid.yaml');
  writeFileSync(file, stringify(config));
  return (freshAppIdConfig = file);
}

export async function startTestSidecar(options: {
  appId: string;
  appPort: number;
  resourcesDir: string;
  secretsFile: string;
  configFile?: string;
  mtls?: MtlsSettings | false;
  /** Added to the sidecar's environment, e.g. KAFKA_BROKERS of a broker of the test's own (startPrivateKafka). */
  env?: Record<string, string>;
}): Promise<RunningSidecar> {
  const sidecar = startSidecar({
    appId: options.appId,
    appPort: options.appPort,
    ...(await freeSidecarPorts()),
    resourcesPaths: [options.resourcesDir],
    configFile: options.configFile ?? freshAppIdConfigFile(),
    // The local scheduler, as dapr/dapr.yaml gives every sidecar (the Jobs API).
    schedulerHostAddress: localScheduler().address,
    // The tests' broker, never the dev system's (the default of sidecarEnvironment).
    env: { CAREGRID_SECRETS_FILE: options.secretsFile, KAFKA_BROKERS: testKafkaBrokers(), ...options.env },
    logFile: path.join(logsDir, 'tests', `${options.appId}-daprd.log`),
    mtls: options.mtls,
  });
  await sidecar.waitReady();
  return sidecar;
}

/** Retries `attempt` until it yields a value (not undefined, not thrown) or time runs out. */
export async function eventually<T>(attempt: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Tests look for what they published themselves: messages from shortly before this test process started. */
const TOPIC_READ_FROM_MS = Math.floor(performance.timeOrigin) - 60_000;

/**
 * The messages of a Kafka topic since this test process started, read straight
 * from the broker (kcat), parsed as JSON when they are. Not the whole history:
 * local topics keep every earlier run's messages. The tests' broker, unless
 * `brokers` names another (startPrivateKafka's).
 */
export function readTopic(topic: string, brokers = testKafkaBrokers()): unknown[] {
  const output = execFileSync(
    'kcat',
    [...kcatAsAdmin(brokers), '-C', '-t', topic, '-o', `s@${TOPIC_READ_FROM_MS}`, '-e', '-q', '-D', '\u001e'],
    {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  return output
    .split('\u001e')
    .filter((message) => message.trim() !== '')
    .map((message) => {
      try {
        return JSON.parse(message) as unknown;
      } catch {
        return message;
      }
    });
}

export type AppUnderTest = { baseUrl: string; appId: string; sidecar: Sidecar; stop: () => Promise<void> };

/**
 * Runs an app in the test process behind a real daprd whose components are the
 * real files under components/, scoped to a fresh app-id.
 */
export async function startAppWithSidecar(options: {
  label: string;
  components?: string[];
  /** Added to the sidecar's environment (startTestSidecar). */
  env?: Record<string, string>;
  createApp: (sidecar: Sidecar) => Promise<Express> | Express;
}): Promise<AppUnderTest> {
  const appId = uniqueName(options.label);
  const appPort = await freePort();
  const resources = renderResources({ components: options.components ?? ['components/pubsub-events.yaml'], scopes: [appId] });
  const daprd = await startTestSidecar({
    appId,
    appPort,
    resourcesDir: resources.dir,
    secretsFile: resources.secretsFile,
    env: options.env,
  });
  const sidecar = new Sidecar({ appId, httpPort: daprd.httpPort, pubsubName: PUBSUB_COMPONENT, secretStoreName: 'secretstore' });
  await sidecar.waitUntilReady();
  const server = (await options.createApp(sidecar)).listen(appPort, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    baseUrl: `http://127.0.0.1:${appPort}`,
    appId,
    sidecar,
    stop: async () => {
      await new Promise((resolve) => server.close(resolve));
      await sidecar.stop();
      await daprd.stop();
    },
  };
}

export type HttpResult = { status: number; headers: Headers; body: unknown };

/** A key that signs access tokens, as auth-service's signing keys are kept (a private ES256 JWK with its kid). */
export type TestSigningKey = { kid: string; privateKey: KeyObject };

/** This test process's own signing key: the key set of the services serviceUnderTest starts. */
const TEST_SIGNING_KEY: TestSigningKey = {
  kid: `test-${randomBytes(4).toString('hex')}`,
  privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
};

/** A signing key of a test stack (its auth-service's newest): tokens the stack's services accept. */
export function stackSigningKey(secrets: Record<string, Record<string, string> | undefined>): TestSigningKey {
  const [newest] = JSON.parse(secrets['auth-service']!.signingKeys!) as (JWK & { kid: string })[];
  return { kid: newest!.kid, privateKey: createPrivateKey({ key: newest!, format: 'jwk' }) };
}

/** The public key set that verifies `keys`' tokens, as auth-service publishes it. */
export function testKeySet(keys: TestSigningKey[] = [TEST_SIGNING_KEY]): JSONWebKeySet {
  return {
    keys: keys.map(({ kid, privateKey }) => ({ ...createPublicKey(privateKey).export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' })),
  };
}

/** Verifies the tokens of this test process's signing key (viaGatewayAs's), as a service verifies auth-service's. */
export const testTokenVerifier = () => new TokenVerifier(async () => testKeySet());

/**
 * An access token as auth-service signs it (ES256, issuer, audience, 15 minutes), signed
 * synchronously by `key` (this test process's own unless given); `overrides` change or add claims
 * (e.g. an `exp` in the past).
 */
export function testAccessToken(
  user: { roles: string[]; userId?: string; patientId?: string; doctorId?: string; emailVerified?: boolean },
  options: { key?: TestSigningKey; overrides?: Record<string, unknown> } = {},
): string {
  const key = options.key ?? TEST_SIGNING_KEY;
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: TOKEN_ISSUER,
    aud: TOKEN_AUDIENCE,
    sub: user.userId ?? `test-user-${user.roles.join('-')}`,
    roles: user.roles,
    ...(user.patientId ? { patientId: user.patientId } : {}),
    ...(user.doctorId ? { doctorId: user.doctorId } : {}),
    ...(user.emailVerified === undefined ? {} : { emailVerified: user.emailVerified }),
    iat: now,
    exp: now + 15 * 60,
    ...options.overrides,
  };
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const signed = `${encode({ alg: 'ES256', kid: key.kid, typ: 'JWT' })}.${encode(claims)}`;
  return `${signed}.${sign('sha256', Buffer.from(signed), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

/**
 * The headers a service sees when the gateway forwards a signed-in user's
 * request (daprd's caller app-id, the user's bearer token): for tests that call
 * a service's app directly, as its sidecar would. The token is signed by this
 * test process's key (what serviceUnderTest's services verify against), or by `key`.
 */
export function viaGatewayAs(
  user: { roles: string[]; userId?: string; patientId?: string; doctorId?: string; emailVerified?: boolean },
  key?: TestSigningKey,
): Record<string, string> {
  return { 'dapr-caller-app-id': 'gateway', authorization: `Bearer ${testAccessToken(user, { key })}` };
}

/** A small JSON client for tests: parsed body (problem+json included), status and headers; `defaults` go on every request. */
export function jsonClient(baseUrl: string, defaults: Record<string, string> = {}) {
  return async (method: string, url: string, body?: unknown, extra: Record<string, string> = {}): Promise<HttpResult> => {
    const headers = { ...defaults, ...extra };
    const response = await fetch(`${baseUrl}${url}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text || undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };
}

/** `send` calls the app as the gateway would for an admin; pass other `viaGatewayAs(...)` headers per request to act as someone else. */
export type ServiceUnderTest<Db> = AppUnderTest & { db: Db; send: ReturnType<typeof jsonClient>; relay: OutboxRelay };

/**
 * A service's app wired as in production, in the test process: a fresh
 * database of the given engine opened and migrated by the service's own
 * opener, an outbox relay, and a real daprd publishing to the tests' real Kafka.
 */
export async function serviceUnderTest<Db>(options: {
  label: string;
  engine: DatabaseEngine;
  open: DatabaseOpener<Db>;
  createApp: (deps: {
    db: Db;
    logger: Logger;
    onEventsQueued: () => void;
    audit?: AuditSink;
    sidecar: Sidecar;
    outbox?: OutboxStore;
    idempotency?: IdempotencyStore;
    tokens: TokenVerifier;
  }) => Express;
}): Promise<ServiceUnderTest<Db>> {
  const logger = pino({ level: 'silent' });
  const database = await freshDatabase(options.engine, options.label.replace(/-service$/, ''));
  const opened = await options.open(database.url, logger, { databaseUrl: database.url });
  let relay: OutboxRelay | undefined;
  const app = await startAppWithSidecar({
    label: options.label,
    createApp: (sidecar) => {
      relay = opened.outbox ? new OutboxRelay(opened.outbox, sidecar, logger, { idleIntervalMs: 200 }) : undefined;
      relay?.start();
      const audit = opened.outbox ? outboxAuditSink((events) => opened.outbox!.appendMany(events)) : undefined;
      return options.createApp({
        db: opened.db,
        logger,
        onEventsQueued: () => relay?.kick(),
        audit,
        sidecar,
        outbox: opened.outbox,
        idempotency: opened.idempotency,
        tokens: testTokenVerifier(),
      });
    },
  });
  return {
    ...app,
    db: opened.db,
    relay: relay!,
    send: jsonClient(app.baseUrl, viaGatewayAs({ roles: ['admin'] })),
    stop: async () => {
      await relay?.stop();
      await app.stop();
      await opened.close();
      await database.drop();
    },
  };
}
