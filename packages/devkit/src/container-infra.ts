import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { parse } from 'yaml';
import { kafkaAdminPassword } from './kafka-auth.js';
import { kafkaAnswers } from './kafka-groups.js';
import { containerInfraFile, localInfra, readInfraEnv, repoRoot } from './paths.js';
import { eventually } from './testing.js';

/**
 * The test infrastructure as containers, for machines with Docker (CI runners):
 * the images of docker-compose.yml — PostgreSQL, MySQL, MongoDB, Kafka — on
 * the same host ports as the local processes (infra/infra.env; Kafka on the
 * tests' broker's port, CAREGRID_TEST_KAFKA_PORT, since it is the tests'
 * broker: every test sidecar is pointed there), so sidecars, provisioning and
 * tests need no other change. Fixed names let a test stop and start one of
 * them (Kafka) from another process.
 */
export type ContainerSpec = {
  component: 'postgres' | 'mysql' | 'mongo' | 'kafka';
  name: string;
  image: string;
  containerPort: number;
  hostPort: number;
  environment: Record<string, string>;
  /** A line the server logs once it accepts clients, and how many times (init restarts some servers). */
  readyLog: { pattern: RegExp; times: number };
};

type ComposeService = { image: string; environment?: Record<string, string> };

/**
 * Compose's Kafka settings for a container the host reaches at `advertised` (host:port): its
 * `${KAFKA_ADMIN_PASSWORD}` is the local brokers' admin password (infra/infra.sh's credentials,
 * which the tests' tools log in with), its users and ACLs come after it started (kafkaAccess).
 */
export function kafkaContainerEnvironment(composeEnvironment: Record<string, string>, advertised: string, kafkaAdminPassword: string) {
  const environment = Object.fromEntries(
    Object.entries(composeEnvironment).map(([name, value]) => [
      name,
      value.replace(/\$\{KAFKA_ADMIN_PASSWORD[^}]*\}/g, kafkaAdminPassword),
    ]),
  );
  return { ...environment, KAFKA_ADVERTISED_LISTENERS: `CLIENT://${advertised}` };
}

/** infra/infra.sh's Kafka credentials (made when missing): its admin password. */
export function ensureKafkaCredentials(): string {
  const result = spawnSync('bash', [path.join(repoRoot, 'infra', 'infra.sh'), 'kafka-credentials'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`infra/infra.sh kafka-credentials failed: ${result.stderr || result.stdout}`);
  return kafkaAdminPassword();
}

/** The SCRAM users, topics and ACLs of the `events` component's scopes on the broker at 127.0.0.1:<port> (infra/kafka/KafkaAccess.java). */
export function kafkaAccess(port: number): void {
  const result = spawnSync('bash', [path.join(repoRoot, 'infra', 'infra.sh'), 'kafka-access', String(port)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`Kafka users and ACLs not written: ${result.stderr || result.stdout}`);
}

export function containerSpecs(adminPassword: string, kafkaAdminPassword: string): ContainerSpec[] {
  const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as { services: Record<string, ComposeService> };
  const service = (name: string) => {
    const found = compose.services[name];
    if (!found?.image) throw new Error(`docker-compose.yml has no image for "${name}"`);
    return found;
  };
  const env = readInfraEnv();
  const hostPort = (name: string) => Number(env[name]);
  const kafkaPort = hostPort('CAREGRID_TEST_KAFKA_PORT');
  return [
    {
      component: 'postgres',
      name: 'caregrid-test-postgres',
      image: service('postgres').image,
      containerPort: 5432,
      hostPort: hostPort('CAREGRID_PG_PORT'),
      environment: { POSTGRES_PASSWORD: adminPassword },
      // The entrypoint's init server logs it once, the real server a second time.
      readyLog: { pattern: /database system is ready to accept connections/, times: 2 },
    },
    {
      component: 'mysql',
      name: 'caregrid-test-mysql',
      image: service('mysql').image,
      containerPort: 3306,
      hostPort: hostPort('CAREGRID_MYSQL_PORT'),
      environment: { MYSQL_ROOT_PASSWORD: adminPassword, MYSQL_ROOT_HOST: '%' },
      // The init server listens on no port; the real one names 3306.
      readyLog: { pattern: /ready for connections.*port: 3306/, times: 1 },
    },
    {
      component: 'mongo',
      name: 'caregrid-test-mongo',
      image: service('mongo').image,
      containerPort: 27017,
      hostPort: hostPort('CAREGRID_MONGO_PORT'),
      // No root user: like FerretDB locally, a database per service is the isolation.
      environment: {},
      readyLog: { pattern: /Waiting for connections/, times: 1 },
    },
    {
      component: 'kafka',
      name: 'caregrid-test-kafka',
      image: service('kafka').image,
      containerPort: 9092,
      hostPort: kafkaPort,
      // Compose's single-node KRaft settings, advertised at the host port the clients use.
      environment: kafkaContainerEnvironment(service('kafka').environment ?? {}, `127.0.0.1:${kafkaPort}`, kafkaAdminPassword),
      readyLog: { pattern: /Kafka Server started/, times: 1 },
    },
  ];
}

export type ContainerInfra = { stop: () => Promise<void> };

export async function startContainerInfra(log: (line: string) => void = console.log): Promise<ContainerInfra> {
  const adminPassword = randomBytes(18).toString('base64url');
  const specs = containerSpecs(adminPassword, ensureKafkaCredentials());
  // A crashed earlier run may have left containers with these names.
  spawnSync('docker', ['rm', '-f', ...specs.map((s) => s.name)], { stdio: 'ignore' });
  const started: StartedTestContainer[] = [];
  try {
    await Promise.all(
      specs.map(async (spec) => {
        log(`starting ${spec.image} on 127.0.0.1:${spec.hostPort}`);
        const container = await new GenericContainer(spec.image)
          .withName(spec.name)
          .withEnvironment(spec.environment)
          .withExposedPorts({ container: spec.containerPort, host: spec.hostPort })
          .withWaitStrategy(Wait.forLogMessage(spec.readyLog.pattern, spec.readyLog.times))
          .withStartupTimeout(180_000)
          .start();
        started.push(container);
        if (spec.component === 'kafka') kafkaAccess(spec.hostPort);
        log(`${spec.component} ready`);
      }),
    );
  } catch (error) {
    await Promise.all(started.map((c) => c.stop().catch(() => undefined)));
    throw error;
  }
  mkdirSync(path.dirname(containerInfraFile), { recursive: true });
  writeFileSync(containerInfraFile, JSON.stringify({ adminPassword }), { mode: 0o600 });
  return {
    stop: async () => {
      await Promise.all(started.map((c) => c.stop().catch(() => undefined)));
      rmSync(containerInfraFile, { force: true });
    },
  };
}

/** Stops a running test container (e.g. Kafka, to test an outage) without removing it. */
export function stopContainer(component: ContainerSpec['component']): void {
  const result = spawnSync('docker', ['stop', `caregrid-test-${component}`], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`docker stop caregrid-test-${component}: ${result.stderr}`);
}

/** Starts it again on the same host port and waits until Kafka answers metadata requests. */
export async function startContainer(component: ContainerSpec['component']): Promise<void> {
  const result = spawnSync('docker', ['start', `caregrid-test-${component}`], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`docker start caregrid-test-${component}: ${result.stderr}`);
  if (component !== 'kafka') return;
  await eventually(() => kafkaAnswers(localInfra().testKafka.brokers) || undefined, 90_000).catch(() => {
    throw new Error('Kafka container did not answer within 90 s of its restart');
  });
}
