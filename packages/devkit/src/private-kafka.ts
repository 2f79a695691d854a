import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { parse } from 'yaml';
import { infraMode, logsDir, repoRoot } from './paths.js';
import { ensureKafkaCredentials, kafkaAccess, kafkaContainerEnvironment } from './container-infra.js';
import { kafkaAdminPassword, kcatAsAdmin } from './kafka-auth.js';
import { kafkaAnswers, kafkaClasspath, testKafkaBrokers } from './kafka-groups.js';
import { startProcess, type ManagedProcess } from './processes.js';
import { eventually, freePort, uniqueName } from './testing.js';

/**
 * A Kafka broker of one test's own, to stop and start as a fault: the tests'
 * broker (infra/infra.sh's kafka-test) serves every other test run on the
 * machine and must never go down.
 * Same installation and configuration as infra/infra.sh's (single-node KRaft
 * from infra/kafka/server.properties.in), or, with CAREGRID_INFRA=containers,
 * docker-compose.yml's image; free ports, data in a temporary directory (or
 * the container), kept across stop/start, so a restart is the same broker
 * with its topics and consumer offsets.
 */
export type PrivateKafka = {
  brokers: string;
  /** Stops the broker (SIGTERM; `kill`: SIGKILL, a crash) and resolves once it is gone. */
  stop: (options?: { kill?: boolean }) => Promise<void>;
  /** Starts it again on the same ports and data and resolves once it answers metadata requests. */
  start: () => Promise<void>;
  /** Stops it for good and deletes its data. */
  remove: () => Promise<void>;
};

const HEAP = '-Xmx384m';

/**
 * `topics`: created up front (default: every topic of components/pubsub-events.yaml), as on a
 * provisioned broker. A subscriber whose topic does not exist yet when its consumer group
 * joins gets no partition of it until the next metadata refresh, minutes later.
 */
export async function startPrivateKafka(options: { topics?: string[] } = {}): Promise<PrivateKafka> {
  const kafka = infraMode() === 'containers' ? await startKafkaContainer() : await startKafkaProcess();
  try {
    for (const topic of options.topics ?? caregridTopics()) await createTopic(kafka.brokers, topic);
  } catch (error) {
    await kafka.remove();
    throw error;
  }
  return kafka;
}

/** Every CareGrid topic: the pub/sub component protects each one. */
function caregridTopics(): string[] {
  const component = parse(readFileSync(path.join(repoRoot, 'components', 'pubsub-events.yaml'), 'utf8')) as {
    spec: { metadata: { name: string; value?: string }[] };
  };
  const value = component.spec.metadata.find((m) => m.name === 'protectedTopics')?.value;
  if (!value) throw new Error('components/pubsub-events.yaml names no protectedTopics');
  return value.split(',').map((t) => t.trim());
}

/** A metadata request for a topic creates it (auto.create.topics.enable, as in infra/kafka and Compose); waits for its partition. */
async function createTopic(brokers: string, topic: string): Promise<void> {
  await eventually(() => {
    const listing = spawnSync('kcat', [...kcatAsAdmin(brokers), '-L', '-t', topic], { encoding: 'utf8' }).stdout;
    return /with [1-9]\d* partitions/.test(listing) ? true : undefined;
  }, 30_000);
}

const waitAnswering = (brokers: string) =>
  eventually(() => kafkaAnswers(brokers) || undefined, 90_000).catch(() => {
    throw new Error(`private Kafka at ${brokers} did not answer within 90 s`);
  });

async function startKafkaProcess(): Promise<PrivateKafka> {
  const classpath = kafkaClasspath();
  if (!classpath) throw new Error('private Kafka: no Kafka jars (bash infra/infra.sh kafka-classpath failed)');
  // The tests' broker made the credentials this one shares (its admin, the apps' users).
  testKafkaBrokers();
  const dir = mkdtempSync(path.join(tmpdir(), 'caregrid-kafka-'));
  const port = await freePort();
  const controllerPort = await freePort();
  const props = path.join(dir, 'server.properties');
  writeFileSync(
    props,
    readFileSync(path.join(repoRoot, 'infra', 'kafka', 'server.properties.in'), 'utf8')
      .replaceAll('@PORT@', String(port))
      .replaceAll('@CONTROLLER_PORT@', String(controllerPort))
      .replaceAll('@DATA_DIR@', path.join(dir, 'data'))
      .replaceAll('@ADMIN_PASSWORD@', kafkaAdminPassword()),
    { mode: 0o600 },
  );
  const java = ['-Xms128m', HEAP, `-Dlog4j2.configurationFile=${path.join(repoRoot, 'infra', 'kafka', 'log4j2.xml')}`, '-cp', classpath];
  // A KRaft cluster id is 16 random bytes, base64url: what StorageTool random-uuid prints, without a
  // JVM start. Like Kafka's own, never one that starts with '-' (the tool would read it as an option).
  let clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  const format = spawnSync('java', [...java, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props], {
    encoding: 'utf8',
  });
  if (format.status !== 0) throw new Error(`private Kafka: storage format failed: ${format.stderr || format.stdout}`);
  const brokers = `127.0.0.1:${port}`;
  const name = uniqueName('kafka');
  let broker: ManagedProcess | undefined;
  const start = async () => {
    broker = startProcess({
      name,
      command: 'java',
      args: [...java, 'kafka.Kafka', props],
      cwd: dir,
      env: process.env,
      logFile: path.join(logsDir, 'tests', `${name}.log`),
    });
    await Promise.race([
      waitAnswering(brokers),
      broker.exited.then((code) => {
        throw new Error(`private Kafka exited (${code}) before it answered; log in ${path.join(logsDir, 'tests', `${name}.log`)}`);
      }),
    ]);
  };
  const stop = async (options: { kill?: boolean } = {}) => {
    if (!broker) return;
    if (options.kill && broker.child.pid !== undefined) {
      try {
        process.kill(-broker.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await broker.stop(15_000);
    broker = undefined;
  };
  await start();
  // Its users and ACLs, as infra/infra.sh gives the tests' broker (kept across restarts: they live in its metadata).
  try {
    kafkaAccess(port);
  } catch (error) {
    await stop({ kill: true });
    throw error;
  }
  return {
    brokers,
    stop,
    start,
    remove: async () => {
      await stop({ kill: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startKafkaContainer(): Promise<PrivateKafka> {
  const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
    services: { kafka: { image: string; environment: Record<string, string> } };
  };
  const port = await freePort();
  const brokers = `127.0.0.1:${port}`;
  const name = uniqueName('caregrid-test-kafka');
  mkdirSync(path.join(logsDir, 'tests'), { recursive: true });
  const container: StartedTestContainer = await new GenericContainer(compose.services.kafka.image)
    .withName(name)
    .withEnvironment({
      ...kafkaContainerEnvironment(compose.services.kafka.environment, brokers, ensureKafkaCredentials()),
      CLUSTER_ID: randomBytes(16).toString('base64url'),
      KAFKA_HEAP_OPTS: `-Xms128m ${HEAP}`,
    })
    .withExposedPorts({ container: 9092, host: port })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(180_000)
    .start();
  const docker = (...args: string[]) => {
    const result = spawnSync('docker', args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`docker ${args.join(' ')}: ${result.stderr}`);
  };
  try {
    kafkaAccess(port);
  } catch (error) {
    await container.stop().catch(() => undefined);
    throw error;
  }
  return {
    brokers,
    // `docker stop`/`kill` keep the container and its data; `docker start` brings back the same broker.
    stop: async (options = {}) => (options.kill ? docker('kill', name) : docker('stop', '-t', '15', name)),
    start: async () => {
      docker('start', name);
      await waitAnswering(brokers);
    },
    remove: async () => {
      await container.stop().catch(() => undefined);
    },
  };
}
