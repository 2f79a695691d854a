import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { containerSpecs } from '../src/container-infra.js';
import { readInfraEnv, repoRoot } from '../src/paths.js';

const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { image: string; environment: Record<string, string> }>;
};

describe('test containers (CAREGRID_INFRA=containers)', () => {
  const specs = containerSpecs('admin-secret', 'kafka-admin-secret');
  const spec = (component: string) => specs.find((s) => s.component === component)!;

  it("use docker-compose.yml's images, on the host ports of the local servers (Kafka on the tests' broker's)", () => {
    const env = readInfraEnv();
    expect(specs.map((s) => [s.component, s.image, s.hostPort])).toEqual([
      ['postgres', compose.services.postgres!.image, Number(env.CAREGRID_PG_PORT)],
      ['mysql', compose.services.mysql!.image, Number(env.CAREGRID_MYSQL_PORT)],
      ['mongo', compose.services.mongo!.image, Number(env.CAREGRID_MONGO_PORT)],
      ['kafka', compose.services.kafka!.image, Number(env.CAREGRID_TEST_KAFKA_PORT)],
    ]);
  });

  it('give the administrators the run password and advertise Kafka where the host reaches it', () => {
    expect(spec('postgres').environment.POSTGRES_PASSWORD).toBe('admin-secret');
    expect(spec('mysql').environment.MYSQL_ROOT_PASSWORD).toBe('admin-secret');
    const kafka = spec('kafka').environment;
    expect(kafka.KAFKA_ADVERTISED_LISTENERS).toBe(`CLIENT://127.0.0.1:${readInfraEnv().CAREGRID_TEST_KAFKA_PORT}`);
    // The admin logs in with the local brokers' password (the tests' tools have it), not Compose's .env.
    expect(kafka.KAFKA_LISTENER_NAME_CLIENT_PLAIN_SASL_JAAS_CONFIG).toContain('password="kafka-admin-secret"');
    expect(Object.values(kafka).join('\n')).not.toContain('${');
    // Everything else is Compose's single-node KRaft setup.
    expect(kafka.KAFKA_PROCESS_ROLES).toBe(compose.services.kafka!.environment.KAFKA_PROCESS_ROLES);
    expect(kafka.KAFKA_LISTENERS).toBe(compose.services.kafka!.environment.KAFKA_LISTENERS);
  });
});
