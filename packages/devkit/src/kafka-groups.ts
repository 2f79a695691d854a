import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { kafkaAdminProperties, kcatAsAdmin } from './kafka-auth.js';
import { infraMode, localInfra, repoRoot } from './paths.js';

let classpath: string | undefined | null;

/** The Kafka jars (admin tools included) as a classpath, from infra/infra.sh (which fetches them when missing); null where it cannot. */
export function kafkaClasspath(): string | null {
  if (classpath !== undefined) return classpath;
  const result = spawnSync('bash', [path.join(repoRoot, 'infra', 'infra.sh'), 'kafka-classpath'], { encoding: 'utf8' });
  classpath = result.status === 0 ? result.stdout.trim().split('\n').pop() || null : null;
  return classpath;
}

/** Whether a broker answers a metadata request (within 2 s). */
export const kafkaAnswers = (brokers: string) =>
  spawnSync('kcat', [...kcatAsAdmin(brokers), '-L', '-m', '2'], { stdio: 'ignore' }).status === 0;

let testKafkaAnswered = false;

/**
 * The tests' broker (LocalInfra.testKafka): where every sidecar a test starts publishes and
 * subscribes, never the dev system's. `npm test` starts it first; a test file or a bench run on
 * its own after `npm run dev` (which does not start it) gets it started here, once. With
 * CAREGRID_INFRA=containers it is the Kafka container, which must already run.
 */
export function testKafkaBrokers(): string {
  const { brokers } = localInfra().testKafka;
  if (testKafkaAnswered || kafkaAnswers(brokers)) {
    testKafkaAnswered = true;
    return brokers;
  }
  if (infraMode() === 'containers') {
    throw new Error(`CAREGRID_INFRA=containers but no Kafka answers at ${brokers}: start the containers first (npm test does)`);
  }
  const result = spawnSync('bash', [path.join(repoRoot, 'infra', 'infra.sh'), 'up', 'kafka-test'], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`the tests' Kafka did not start (infra/infra.sh up kafka-test): ${result.stderr || result.stdout}`);
  }
  testKafkaAnswered = true;
  return brokers;
}

/** Topics that exist now (kcat's metadata listing). */
function existingTopics(brokers: string): Set<string> | null {
  const result = spawnSync('kcat', [...kcatAsAdmin(brokers), '-L', '-J', '-m', '5'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) return null;
  return new Set((JSON.parse(result.stdout) as { topics: { topic: string }[] }).topics.map((t) => t.topic));
}

/**
 * Commits, for consumer groups that have not joined yet, offsets at the
 * current end of every existing topic of `topics`. Their consumers then start
 * exactly there whenever they join — a sidecar subscribing to many topics can
 * take seconds — so no event published after this call is missed and none
 * from before is read; a topic created later is read from its start
 * (`initialOffset: oldest`). False when the tools are not to be had (then the
 * caller falls back to `newest`).
 */
export function placeGroupsAtEnd(brokers: string, groups: string[], topics: string[]): boolean {
  const cp = kafkaClasspath();
  const existing = cp ? existingTopics(brokers) : null;
  if (!cp || !existing) return false;
  const present = [...new Set(topics)].filter((topic) => existing.has(topic));
  if (present.length === 0 || groups.length === 0) return true;
  const result = spawnSync(
    'java',
    [
      '-Xmx128m',
      '-cp',
      cp,
      `-Dlog4j2.configurationFile=${path.join(repoRoot, 'infra', 'kafka', 'log4j2.xml')}`,
      'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
      '--bootstrap-server',
      brokers,
      '--command-config',
      kafkaAdminProperties,
      '--reset-offsets',
      '--to-latest',
      '--execute',
      ...groups.flatMap((group) => ['--group', group]),
      ...present.flatMap((topic) => ['--topic', topic]),
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (result.status !== 0) throw new Error(`placing consumer groups at the end failed: ${result.stderr || result.stdout}`);
  return true;
}
