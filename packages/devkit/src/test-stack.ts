import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { placeGroupsAtEnd, testKafkaBrokers } from './kafka-groups.js';
import { defaultRunFile, logsDir, repoRoot } from './paths.js';
import { writeGeneratedResources } from './policy.js';
import {
  dropDatabase,
  provisionDatabase,
  provisionServiceSecrets,
  readSecrets,
  sqlName,
  type DatabaseEngine,
  type SecretsDocument,
} from './provision.js';
import { AUDIT_TRAIL_DATABASE } from '@caregrid/platform/mongo';
import { dropAuditTrail, provisionAuditTrail } from './audit-trail.js';
import { loadRunFile, type ResolvedApp } from './runfile.js';
import { startStack } from './stack.js';
import type { StackMember } from './supervisor.js';
import { freePort, freeSidecarPorts, jsonClient, uniqueName } from './testing.js';

export type TestStack = {
  /** Base URL of an app (e.g. the gateway) of this stack. */
  url: (appId: string) => string;
  /** A member by app-id, or by instance name (`<app-id>-2`) for a replica. */
  member: (name: string) => StackMember;
  secretsFile: string;
  secrets: () => SecretsDocument;
  /** Where the generated components live and the key files (key rotation rewrites them). */
  resourcesDir: string;
  keyFilesDir: string;
  /** billing-service's invoice-storage binding's folder: the stack's own, as its invoice numbers are. */
  invoiceStorageDir: string;
  /** The apps', sidecars' and supervisor's logs (supervisor.log: restarts, routing changes). */
  logDir: string;
  stop: () => Promise<void>;
};

type Resource = Record<string, unknown> & { kind?: string; metadata?: { name?: string }; spec?: Record<string, unknown> };

export function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => path.join(dir, f));
}

/**
 * What a test stack gives an app unless the test sets it: the tests book on fixed dates of next
 * year, up to 17 months ahead, beyond appointment-service's 180-day booking horizon
 * (test/integration/booking-limits.test.ts sets the horizon it tests).
 */
const TEST_PROFILE_ENV: Record<string, Record<string, string>> = { 'appointment-service': { BOOKING_HORIZON_DAYS: '800' } };

/**
 * The real services of dapr/dapr.yaml with their real app-ids, components and
 * policy, isolated from a running `npm run dev`: own ports, own databases,
 * own secrets and signing keys, own name-resolution registry, and the tests'
 * Kafka broker instead of the dev system's (same topics, no event crosses),
 * where consumer groups of its own keep it apart from other stacks. For
 * end-to-end tests through the gateway.
 */
export async function startTestStack(options: {
  apps: string[];
  env?: Record<string, Record<string, string>>;
  /** Component metadata to override by component name, e.g. a short cron schedule for a test profile. */
  componentMetadata?: Record<string, Record<string, string>>;
  /** Extra instances of an app-id (same database and resources, own ports and sidecar). */
  replicas?: Record<string, number>;
  /**
   * The sidecars' Kafka (`host:port`) instead of the tests' one: a broker of this stack's own
   * (startPrivateKafka), e.g. to stop as a fault. Its consumer groups then start at the oldest offset.
   */
  kafkaBrokers?: string;
}): Promise<TestStack> {
  const runId = uniqueName('stack');
  const dir = mkdtempSync(path.join(tmpdir(), 'caregrid-stack-'));
  const resourcesDir = path.join(dir, 'resources');
  const configDir = path.join(dir, 'config');
  const keyFilesDir = path.join(dir, 'keys');
  // Own folder for invoice PDFs: every stack numbers its invoices from INV-<year>-000001, so a
  // shared folder would let one stack overwrite (and serve) another's files of the same name.
  const invoiceStorageDir = path.join(dir, 'invoices');
  mkdirSync(resourcesDir);
  mkdirSync(configDir);
  mkdirSync(invoiceStorageDir);

  // Real resources, on the tests' broker: `npm run dev`'s broker never sees this stack's events,
  // nor this stack its. There each stack has consumer groups of its own, starting at the end of
  // the topics: isolated from earlier runs and from stacks running at the same time (a shared
  // group would hand a partition, and so this stack's events, to another stack). The groups'
  // offsets are placed at the end before any sidecar starts, so a subscriber that joins late
  // still gets every event published after this point.
  const resources: { file: string; index: number; resource: Resource }[] = [];
  for (const file of [...yamlFiles(path.join(repoRoot, 'components')), ...yamlFiles(path.join(repoRoot, 'dapr', 'resources'))]) {
    parseAllDocuments(readFileSync(file, 'utf8')).forEach((doc, index) =>
      resources.push({ file, index, resource: doc.toJS() as Resource }),
    );
  }
  const topics = resources.flatMap(({ resource }) => (resource.kind === 'Subscription' ? [String(resource.spec?.topic)] : []));
  const groups = options.apps.map((appId) => `${appId}-${runId}`);
  const brokers = options.kafkaBrokers ?? testKafkaBrokers();
  // A broker of the stack's own holds nothing older than the stack: read it all from the start.
  const placed = options.kafkaBrokers ? true : placeGroupsAtEnd(brokers, groups, topics);
  for (const { file, index, resource } of resources) {
    if (resource.kind === 'Component' && resource.spec?.type === 'pubsub.kafka') {
      for (const item of resource.spec.metadata as { name: string; value?: string }[]) {
        if (item.name === 'consumerGroup') item.value = `{appID}-${runId}`;
        if (item.name === 'initialOffset') item.value = placed ? 'oldest' : 'newest';
      }
    }
    const overrides = resource.kind === 'Component' ? options.componentMetadata?.[resource.metadata?.name ?? ''] : undefined;
    for (const item of overrides ? (resource.spec!.metadata as { name: string; value?: string }[]) : []) {
      if (overrides![item.name] !== undefined) item.value = overrides![item.name];
    }
    writeFileSync(path.join(resourcesDir, `${path.basename(file, '.yaml')}-${index}.yaml`), stringify(resource));
  }
  renderConfigurations(configDir, path.join(dir, 'nameresolution.db'));

  const wanted = new Set(options.apps);
  const apps: ResolvedApp[] = [];
  for (const app of loadRunFile(defaultRunFile).filter((a) => wanted.has(a.appId))) {
    apps.push({
      ...app,
      appPort: await freePort(),
      ...(await freeSidecarPorts()),
      resourcesPaths: [resourcesDir],
      configFile: path.join(configDir, path.basename(app.configFile)),
      env: { ...app.env, ...TEST_PROFILE_ENV[app.appId], ...options.env?.[app.appId] },
    });
  }
  for (const [appId, count] of Object.entries(options.replicas ?? {})) {
    const original = apps.find((a) => a.appId === appId);
    for (let i = 2; original && i <= count; i++) {
      apps.push({
        ...original,
        instanceName: `${appId}-${i}`,
        appPort: await freePort(),
        ...(await freeSidecarPorts()),
      });
    }
  }
  const missing = options.apps.filter((id) => !apps.some((a) => a.appId === id));
  if (missing.length > 0) throw new Error(`not in dapr/dapr.yaml: ${missing.join(', ')}`);

  const secretsFile = path.join(dir, 'secrets.json');
  const databases: { engine: DatabaseEngine; name: string }[] = [];
  const trails: string[] = [];
  await provisionServiceSecrets(
    apps.filter((a) => !a.instanceName),
    secretsFile,
    (engine, appId) => {
      const name = sqlName(`t_${appId}_${runId.slice(-8)}`);
      databases.push({ engine, name });
      return provisionDatabase(engine, name);
    },
    () => {
      const name = sqlName(`t_${AUDIT_TRAIL_DATABASE}_${runId.slice(-8)}`);
      trails.push(name);
      return provisionAuditTrail(name);
    },
  );
  writeGeneratedResources(readSecrets(secretsFile), resourcesDir, keyFilesDir);

  const logDir = path.join(logsDir, 'tests', runId);
  mkdirSync(logDir, { recursive: true });
  const stack = await startStack({
    apps,
    logDir,
    sidecarEnv: {
      CAREGRID_SECRETS_FILE: secretsFile,
      INVOICE_STORAGE_DIR: invoiceStorageDir,
      // The `events` component reads its brokers from the sidecar's environment (envRef: KAFKA_BROKERS).
      KAFKA_BROKERS: brokers,
    },
    // The launcher's supervision (restarts, routing by readiness) runs here too; its account goes to a file.
    log: (message) => appendFileSync(path.join(logDir, 'supervisor.log'), `${new Date().toISOString()} ${message}\n`),
  });
  const stop = async () => {
    await stack.stop();
    await Promise.all([
      ...databases.map((db) => dropDatabase(db.engine, db.name).catch(() => undefined)),
      ...trails.map((name) => dropAuditTrail(name).catch(() => undefined)),
    ]);
  };
  if (!stack.healthy) {
    const report = stack.members.map((m) => `${m.app.appId}: ${m.status}`).join('; ');
    await stop();
    throw new Error(`test stack did not start (${report}); logs in ${path.join(logsDir, 'tests', runId)}`);
  }
  const member = (name: string) => {
    const found = stack.members.find((m) => (m.app.instanceName ?? m.app.appId) === name);
    if (!found) throw new Error(`${name} is not in this stack`);
    return found;
  };
  return {
    url: (name) => `http://127.0.0.1:${member(name).app.appPort}`,
    member,
    secretsFile,
    secrets: () => readSecrets(secretsFile),
    resourcesDir,
    keyFilesDir,
    invoiceStorageDir,
    logDir,
    stop,
  };
}

/** The real Configurations of dapr/config, with a name-resolution registry of the caller's own. */
export function renderConfigurations(configDir: string, nameResolutionDb: string): void {
  mkdirSync(configDir, { recursive: true });
  for (const file of yamlFiles(path.join(repoRoot, 'dapr', 'config'))) {
    const config = parseAllDocuments(readFileSync(file, 'utf8'))[0]!.toJS() as Resource;
    const nameResolution = config.spec?.nameResolution as { configuration: Record<string, string> } | undefined;
    if (nameResolution) nameResolution.configuration.connectionString = nameResolutionDb;
    writeFileSync(path.join(configDir, path.basename(file)), stringify(config));
  }
}

/**
 * The Authorization header of the stack's first admin (auth-service's bootstrap account), signed in
 * through the gateway as any client would; a failed sign-in throws with its answer.
 */
export async function bootstrapAdminAuth(stack: TestStack): Promise<{ authorization: string }> {
  const secret = stack.secrets()['auth-service']!;
  const login = await jsonClient(stack.url('gateway'))('POST', '/api/auth/login', {
    email: secret.bootstrapAdminEmail,
    password: secret.bootstrapAdminPassword,
  });
  const token = (login.body as { accessToken?: string } | undefined)?.accessToken;
  if (login.status !== 200 || !token)
    throw new Error(`the bootstrap admin's sign-in answered ${login.status}: ${JSON.stringify(login.body)}`);
  return { authorization: `Bearer ${token}` };
}
