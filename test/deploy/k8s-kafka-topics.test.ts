/**
 * Kafka topics are declared (k8s/base/kafka-topics.yaml: a Job running kafka-topics.sh), not left
 * to broker auto-creation. The list the Job creates must be exactly the topics CareGrid uses —
 * computed here from the contracts' Topics and dapr/resources/subscriptions.yaml (each
 * subscription's topic and its dead-letter topic `<topic>.<app-id>.dlq`) — each with partitions,
 * replication and retention. The Job's own script is run here, with kafka-topics.sh and
 * kafka-configs.sh stood in by recorders, to see what it would ask the brokers.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { deadLetterTopic, Topics } from '@caregrid/contracts';
import { repoRoot } from '@caregrid/devkit';
import { copyDeployment, type KubeObject, renderOverlay } from './k8s-render.js';

type Subscription = KubeObject & { spec: { topic: string; deadLetterTopic?: string }; scopes: string[] };
type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } };
type Job = KubeObject & {
  spec: {
    template: {
      spec: {
        containers: { name: string; image: string; command: string[]; env: EnvVar[] }[];
        volumes: { configMap?: { name: string } }[];
      };
    };
  };
};
type Component = KubeObject & { spec: { metadata: { name: string; value?: string }[] } };

const subscriptions = parseAllDocuments(readFileSync(path.join(repoRoot, 'dapr', 'resources', 'subscriptions.yaml'), 'utf8'))
  .map((d) => d.toJS() as Subscription)
  .filter((o) => o?.kind === 'Subscription');

/** Every topic the system publishes or subscribes to. */
const usedTopics = [
  ...new Set([
    ...Object.values(Topics),
    ...subscriptions.flatMap((s) => [s.spec.topic, ...(s.spec.deadLetterTopic ? [s.spec.deadLetterTopic] : [])]),
  ]),
].sort();

const { dir: work, dispose } = copyDeployment();
afterAll(dispose);

describe('the topics CareGrid uses', () => {
  it('include audit, its dead letters, and one dead-letter topic <topic>.<app-id>.dlq per subscription', () => {
    expect(usedTopics).toEqual(
      expect.arrayContaining(['patients', 'doctors', 'appointments', 'invoices', 'audit', 'audit.analytics-service.dlq']),
    );
    for (const s of subscriptions.filter((x) => x.spec.deadLetterTopic)) {
      expect([s.metadata.name, s.spec.deadLetterTopic]).toEqual([s.metadata.name, deadLetterTopic(s.spec.topic, s.scopes[0]!)]);
    }
    // Every dead-letter topic is drained by a subscription of its own.
    for (const dlq of usedTopics.filter((t) => t.endsWith('.dlq'))) expect(subscriptions.map((s) => s.spec.topic)).toContain(dlq);
  });
});

describe.each(['dev', 'prod'])('k8s/overlays/%s: the kafka-topics Job', (overlay) => {
  let objects: KubeObject[] = [];
  let job: Job;
  const env = () => Object.fromEntries(job.spec.template.spec.containers[0]!.env.map((e) => [e.name, e.value ?? e.valueFrom]));
  const configMap = () => objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kafka-topics')!;
  const declared = () =>
    configMap()
      .data!.topics!.trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/));

  beforeAll(async () => {
    objects = await renderOverlay(work, overlay);
    job = objects.find((o) => o.kind === 'Job' && o.metadata.name === 'kafka-topics') as Job;
  });

  it('declares exactly the topics in use (and the pub/sub component protects exactly those)', () => {
    expect(
      declared()
        .map(([topic]) => topic)
        .sort(),
    ).toEqual(usedTopics);
    const events = objects.find((o) => o.kind === 'Component' && o.metadata.name === 'events') as Component;
    const protectedTopics = events.spec.metadata.find((m) => m.name === 'protectedTopics')?.value?.split(',');
    expect(protectedTopics?.sort()).toEqual(usedTopics);
  });

  it('each with partitions and retention; replication fit for the overlay; the brokers of the events component', () => {
    for (const [topic, partitions, retention, ...rest] of declared()) {
      expect([topic, rest]).toEqual([topic, []]);
      expect([topic, Number(partitions) >= 1, Number(retention) >= 24 * 3600 * 1000]).toEqual([topic, true, true]);
    }
    const events = objects.find((o) => o.kind === 'Component' && o.metadata.name === 'events') as Component;
    const brokers = events.spec.metadata.find((m) => m.name === 'brokers')!.value!;
    expect(env()).toMatchObject({
      KAFKA_BROKERS: brokers,
      REPLICATION_FACTOR: overlay === 'dev' ? '1' : '3',
      MIN_INSYNC_REPLICAS: overlay === 'dev' ? '1' : '2',
    });
    expect(job.spec.template.spec.containers[0]!.image).toMatch(/^apache\/kafka:4\.1\.1@sha256:[0-9a-f]{64}$/);
    expect(job.spec.template.spec.volumes.map((v) => v.configMap?.name)).toContain('kafka-topics');
  });

  it('its script creates each declared topic (--if-not-exists) and sets its retention, logging in as the events component does', () => {
    const dir = path.join(work, `job-${overlay}`);
    const bin = path.join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    const log = path.join(dir, 'calls.log');
    writeFileSync(log, '');
    for (const tool of ['kafka-topics.sh', 'kafka-configs.sh']) {
      // Each call on one line; the client properties it was given copied beside it.
      writeFileSync(
        path.join(bin, tool),
        `#!/usr/bin/env bash\necho "${tool} $*" >> "${log}"\nwhile [ $# -gt 0 ]; do [ "$1" = --command-config ] && { [ "$2" -ef "${dir}/client.properties" ] || cp "$2" "${dir}/client.properties"; }; shift; done\n`,
      );
      chmodSync(path.join(bin, tool), 0o755);
    }
    writeFileSync(path.join(dir, 'topics'), configMap().data!.topics!);
    const secrets = { saslUsername: 'caregrid', saslPassword: 'pw-from-secret' };
    const jobEnv = Object.fromEntries(
      job.spec.template.spec.containers[0]!.env.map((e) => [
        e.name,
        e.value ?? secrets[e.valueFrom!.secretKeyRef.key as keyof typeof secrets],
      ]),
    );
    const [, script] = job.spec.template.spec.containers[0]!.command;
    expect(script).toBe('/etc/kafka-topics/create-topics.sh');
    execFileSync('bash', ['-c', configMap().data!['create-topics.sh']!], {
      env: { ...jobEnv, PATH: process.env.PATH, KAFKA_BIN: bin, TMPDIR: dir, TOPICS_FILE: path.join(dir, 'topics') },
    });
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    const creates = calls.filter((c) => c.startsWith('kafka-topics.sh'));
    expect(creates.map((c) => /--topic (\S+)/.exec(c)?.[1]).sort()).toEqual(usedTopics);
    for (const [topic, partitions, retention] of declared()) {
      const create = creates.find((c) => c.includes(`--topic ${topic} `))!;
      expect(create).toContain(`--bootstrap-server ${jobEnv.KAFKA_BROKERS} `);
      expect(create).toContain('--create --if-not-exists');
      expect(create).toContain(`--partitions ${partitions} --replication-factor ${jobEnv.REPLICATION_FACTOR} `);
      expect(create).toContain(`--config retention.ms=${retention} `);
      expect(calls).toContainEqual(
        expect.stringMatching(
          new RegExp(`^kafka-configs.sh .*--entity-name ${topic!.replace(/\./g, '\\.')} --add-config retention.ms=${retention},`),
        ),
      );
    }
    const properties = readFileSync(path.join(dir, 'client.properties'), 'utf8');
    // The dev Kafka inside the namespace without TLS (as docker-compose.yml's), the managed one over TLS.
    expect(properties).toContain(`security.protocol=${overlay === 'dev' ? 'SASL_PLAINTEXT' : 'SASL_SSL'}`);
    expect(properties).toContain('sasl.mechanism=SCRAM-SHA-512');
    expect(properties).toContain('ScramLoginModule required username="caregrid" password="pw-from-secret";');
  });

  if (overlay === 'dev') {
    it('the dev Kafka does not create topics on its own, and lets the Job in', () => {
      const kafka = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'kafka') as unknown as Job;
      expect(Object.fromEntries(kafka.spec.template.spec.containers[0]!.env.map((e) => [e.name, e.value]))).toMatchObject({
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      });
      const policy = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'kafka-from-topic-job');
      expect(JSON.stringify(policy)).toContain('kafka-admin');
    });
  }
});

describe('with the kafka-mtls component', () => {
  it('the Job presents the client certificate from kafka-credentials over SSL', () => {
    const overlay = path.join(work, 'k8s', 'overlays', 'kafka-mtls-topics');
    mkdirSync(overlay, { recursive: true });
    writeFileSync(
      path.join(overlay, 'kustomization.yaml'),
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../../base/kafka-topics.yaml, ../../../components]\ncomponents: [../../components/kafka-mtls]\n',
    );
    const rendered = parseAllDocuments(
      execFileSync('kubectl', ['kustomize', '--load-restrictor', 'LoadRestrictionsNone', overlay], { encoding: 'utf8' }),
    ).map((d) => d.toJS() as Job);
    const job = rendered.find((o) => o.kind === 'Job')!;
    const env = Object.fromEntries(job.spec.template.spec.containers[0]!.env.map((e) => [e.name, e.value ?? e.valueFrom?.secretKeyRef]));
    expect(env).toMatchObject({
      KAFKA_SECURITY_PROTOCOL: 'SSL',
      KAFKA_CA_CERT: { name: 'kafka-credentials', key: 'caCert' },
      KAFKA_CLIENT_CERT: { name: 'kafka-credentials', key: 'clientCert' },
      KAFKA_CLIENT_KEY: { name: 'kafka-credentials', key: 'clientKey' },
    });
    // The PEM files become one-line Java properties (\n escapes), as Kafka's PEM stores read them.
    const script = (rendered.find((o) => o.kind === 'ConfigMap') as KubeObject).data!['create-topics.sh']!;
    const dir = path.join(work, 'job-mtls');
    mkdirSync(path.join(dir, 'bin'), { recursive: true });
    writeFileSync(path.join(dir, 'topics'), '');
    const pem = (label: string) => `-----BEGIN ${label}-----\nAAAA\nBBBB\n-----END ${label}-----\n`;
    execFileSync('bash', ['-c', script], {
      env: {
        PATH: process.env.PATH,
        TMPDIR: dir,
        TOPICS_FILE: path.join(dir, 'topics'),
        KAFKA_SECURITY_PROTOCOL: 'SSL',
        KAFKA_CA_CERT: pem('CERTIFICATE'),
        KAFKA_CLIENT_CERT: pem('CERTIFICATE'),
        KAFKA_CLIENT_KEY: pem('PRIVATE KEY'),
      },
    });
    const properties = readFileSync(path.join(dir, 'client.properties'), 'utf8').trim().split('\n');
    expect(properties).toEqual([
      'security.protocol=SSL',
      'ssl.truststore.type=PEM',
      'ssl.truststore.certificates=-----BEGIN CERTIFICATE-----\\nAAAA\\nBBBB\\n-----END CERTIFICATE-----\\n',
      'ssl.keystore.type=PEM',
      'ssl.keystore.certificate.chain=-----BEGIN CERTIFICATE-----\\nAAAA\\nBBBB\\n-----END CERTIFICATE-----\\n',
      'ssl.keystore.key=-----BEGIN PRIVATE KEY-----\\nAAAA\\nBBBB\\n-----END PRIVATE KEY-----\\n',
    ]);
  });
});
