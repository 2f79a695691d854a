/**
 * The broker itself, not only the sidecars' pub/sub scopes, decides who may write and read which
 * topic: every client logs in (SASL; one SCRAM user per app-id) and the ACLs written from the
 * `events` component's publishingScopes and subscriptionScopes (infra/kafka/KafkaAccess.java)
 * allow nothing else. Straight at the tests' broker, with Kafka's own Java client (kcat's
 * librdkafka cannot do SCRAM with Kafka 4) and kcat: a forged `appointment.booked` — the event
 * that opens a patient's record to a doctor — is refused when produced with billing-service's
 * login or with none; notification-service cannot read `patients`, analytics-service, which
 * subscribes to it, can. The flows through the sidecars are the other tests'.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Topics } from '@caregrid/contracts';
import { kafkaClasspath, kafkaPassword, kcatAsAdmin, readTopic, repoRoot, testKafkaBrokers } from '@caregrid/devkit';

const brokers = testKafkaBrokers();
const configDir = mkdtempSync(path.join(tmpdir(), 'caregrid-kafka-acl-'));

/** A Java client configuration logging in as `appId` with its own password (SCRAM-SHA-512). */
function loginAs(appId: string): string {
  const password = kafkaPassword(appId);
  if (!password) throw new Error(`no Kafka password for ${appId}`);
  const file = path.join(configDir, `${appId}.properties`);
  writeFileSync(
    file,
    [
      'security.protocol=SASL_PLAINTEXT',
      'sasl.mechanism=SCRAM-SHA-512',
      `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${appId}" password="${password}";`,
    ].join('\n'),
    { mode: 0o600 },
  );
  return file;
}

/** One produce or consume with Kafka's Java client (kafka/KafkaProbe.java): `OK…` or the broker's error name. */
function probe(...args: string[]): string {
  const classpath = kafkaClasspath();
  if (!classpath) throw new Error('no Kafka jars (bash infra/infra.sh kafka-classpath failed)');
  const result = spawnSync(
    'java',
    [
      '-Xmx128m',
      `-Dlog4j2.configurationFile=${path.join(repoRoot, 'infra', 'kafka', 'log4j2.xml')}`,
      '-cp',
      classpath,
      path.join(repoRoot, 'test', 'integration', 'kafka', 'KafkaProbe.java'),
      ...args,
    ],
    { encoding: 'utf8', timeout: 90_000 },
  );
  if (result.status !== 0) throw new Error(`KafkaProbe ${args[0]} failed: ${result.stderr}`);
  return result.stdout.trim().split('\n').pop()!;
}

const produceAs = (appId: string, topic: string, event: object) => probe('produce', brokers, loginAs(appId), topic, JSON.stringify(event));
/** Consumes as `appId` in a group of its own (`<app-id>-…`, as test stacks name theirs): the stacks' groups keep their offsets. */
const consumeAs = (appId: string, topic: string) =>
  probe('consume', brokers, loginAs(appId), topic, `${appId}-${randomUUID().slice(0, 8)}`);

/** A `caregrid.appointment.booked.v1` naming a doctor and a patient who never booked. */
function forgedBooking() {
  const id = randomUUID();
  return {
    specversion: '1.0',
    id,
    source: 'appointment-service',
    type: 'caregrid.appointment.booked.v1',
    time: new Date().toISOString(),
    subject: id,
    datacontenttype: 'application/json',
    data: { appointmentId: id, patientId: randomUUID(), doctorId: randomUUID(), status: 'booked', version: 1 },
  };
}

const onTopic = (topic: string, eventId: string) => readTopic(topic).some((message) => (message as { id?: string }).id === eventId);

describe("the tests' broker checks who produces and consumes", () => {
  it("refuses a forged appointment.booked produced with billing-service's credentials (TOPIC_AUTHORIZATION_FAILED)", async () => {
    const event = forgedBooking();
    expect(produceAs('billing-service', Topics.appointments, event)).toBe('TOPIC_AUTHORIZATION_FAILED');
    // Had it been written, an admin would read it at once; wait a little for a late write anyway.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(onTopic(Topics.appointments, event.id)).toBe(false);
  }, 120_000);

  it('refuses a forged appointment.booked produced with no credentials', async () => {
    const event = forgedBooking();
    const result = spawnSync('kcat', ['-b', brokers, '-P', '-t', Topics.appointments, '-X', 'message.timeout.ms=8000'], {
      input: `${JSON.stringify(event)}\n`,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.stderr).toMatch(/failed|timed out|Disconnected/i);
    expect(onTopic(Topics.appointments, event.id)).toBe(false);
  }, 120_000);

  it("refuses notification-service reading patients (another service's PHI topic)", () => {
    expect(consumeAs('notification-service', Topics.patients)).toBe('TOPIC_AUTHORIZATION_FAILED');
  }, 120_000);

  it("lets analytics-service read patients, its subscription (the refusals above are the ACLs', not a broken login)", () => {
    expect(consumeAs('analytics-service', Topics.patients)).toMatch(/^OK \d+$/);
  }, 120_000);

  it('answers no metadata to a client without credentials', () => {
    const result = spawnSync('kcat', ['-b', brokers, '-L', '-m', '5'], { encoding: 'utf8', timeout: 30_000 });
    expect(result.status).not.toBe(0);
    expect(spawnSync('kcat', [...kcatAsAdmin(brokers), '-L', '-m', '5'], { encoding: 'utf8' }).status).toBe(0);
  });
});
