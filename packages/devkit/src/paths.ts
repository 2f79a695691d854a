import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const stateDir = process.env.CAREGRID_HOME ?? path.join(repoRoot, '.caregrid');
export const logsDir = path.join(stateDir, 'logs');
/**
 * The daprd every local sidecar runs: infra/infra.sh's build, unless CAREGRID_DAPRD_BINARY names
 * another (CI: the binary of the CareGrid daprd image, so the sidecar that ships is the one tested).
 */
export const daprdBinary = process.env.CAREGRID_DAPRD_BINARY || path.join(stateDir, 'bin', 'daprd');
export const secretsFile = path.join(stateDir, 'secrets.json');
/** The audit trail's PostgreSQL logins (`owner=`, `writer=`, `retention=`), made by infra/infra.sh. */
export const auditCredentialsFile = path.join(stateDir, 'audit-credentials');
/** The sidecars' shared sqlite name-resolution registry (the Configurations read CAREGRID_NAME_RESOLUTION_DB). */
export const nameResolutionDb = path.join(stateDir, 'dapr', 'nameresolution.db');
/** Dapr Sentry's trust bundle (root ca.crt, issuer certificate and key), generated on its first start. */
export const sentryDir = path.join(stateDir, 'sentry');
/** The key that signs the sidecars' Sentry tokens, its public jwks.json (what Sentry reads) and the minted tokens. */
export const sentryAuthDir = path.join(stateDir, 'sentry-auth');
export const defaultRunFile = path.join(repoRoot, 'dapr', 'dapr.yaml');

/** infra/infra.env: the local servers' ports, shared with infra/infra.sh. */
export function readInfraEnv(): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of readFileSync(path.join(repoRoot, 'infra', 'infra.env'), 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) values[match[1]!] = match[2]!;
  }
  return values;
}

/**
 * Where the test infrastructure comes from: `local` processes started by
 * infra/infra.sh (default, no Docker), or `containers` started through
 * testcontainers on a machine with Docker (CAREGRID_INFRA=containers). Both
 * listen on the ports of infra/infra.env, so sidecars and tests see the same
 * addresses; only the administrator's way in differs.
 */
export type InfraMode = 'local' | 'containers';
export const infraMode = (): InfraMode => (process.env.CAREGRID_INFRA === 'containers' ? 'containers' : 'local');

/** Written by the containers' starter: the administrator password of that run's database servers. */
export const containerInfraFile = path.join(stateDir, 'containers.json');

/** How provisioning connects as administrator: the local servers' sockets, or the containers' ports with a password. */
export type AdminAccess = { host: string; port: number; user: string; password?: string } | { socketPath: string; user: string };

export type LocalInfra = {
  postgres: { port: number; admin: { host: string; port: number; user: string; password?: string } };
  mysql: { port: number; admin: AdminAccess };
  /** The dev system's broker: `npm run dev`'s sidecars (sidecarEnvironment) and the Dapr CLI's. */
  kafka: { brokers: string };
  /**
   * The tests' own broker (infra/infra.sh's kafka-test, or the Kafka container): every sidecar a
   * test starts publishes and subscribes there, so the two systems never see each other's events.
   */
  testKafka: { brokers: string };
  mongo: { port: number };
  /** The audit trail's FerretDB on PostgreSQL (infra.sh's ferretdb-audit), or the MongoDB container. */
  auditTrail: { port: number };
};

function containerAdminPassword(): string {
  try {
    return (JSON.parse(readFileSync(containerInfraFile, 'utf8')) as { adminPassword: string }).adminPassword;
  } catch {
    throw new Error(`CAREGRID_INFRA=containers but ${containerInfraFile} is missing: start the containers first (npm test does)`);
  }
}

export function localInfra(): LocalInfra {
  const env = readInfraEnv();
  const port = (name: string) => {
    const value = Number(env[name]);
    if (!Number.isInteger(value)) throw new Error(`infra/infra.env: ${name} is not a port`);
    return value;
  };
  const containers = infraMode() === 'containers';
  const password = containers ? containerAdminPassword() : undefined;
  const pgPort = port('CAREGRID_PG_PORT');
  const mysqlPort = port('CAREGRID_MYSQL_PORT');
  return {
    postgres: {
      port: pgPort,
      admin: containers
        ? { host: '127.0.0.1', port: pgPort, user: 'postgres', password }
        : { host: path.join(stateDir, 'run', 'postgres'), port: pgPort, user: 'postgres' },
    },
    mysql: {
      port: mysqlPort,
      admin: containers
        ? { host: '127.0.0.1', port: mysqlPort, user: 'root', password }
        : { socketPath: path.join(stateDir, 'run', 'mysql', 'mysqld.sock'), user: 'root' },
    },
    kafka: { brokers: `127.0.0.1:${port('CAREGRID_KAFKA_PORT')}` },
    testKafka: { brokers: `127.0.0.1:${port('CAREGRID_TEST_KAFKA_PORT')}` },
    mongo: { port: port('CAREGRID_MONGO_PORT') },
    auditTrail: { port: port(containers ? 'CAREGRID_MONGO_PORT' : 'CAREGRID_AUDIT_MONGO_PORT') },
  };
}

/** infra/infra.sh's Zipkin: its base URL (the UI is `/zipkin/`) and where spans are sent to it. */
/** infra/infra.sh's Dapr scheduler (the Jobs API): the address daprd dials, and its health check. */
export function localScheduler(): { address: string; healthzUrl: string } {
  const env = readInfraEnv();
  return {
    address: `127.0.0.1:${env.CAREGRID_SCHEDULER_PORT}`,
    healthzUrl: `http://127.0.0.1:${env.CAREGRID_SCHEDULER_HEALTHZ_PORT}/healthz`,
  };
}

export function localZipkin(): { url: string; spansEndpoint: string } {
  const url = `http://127.0.0.1:${readInfraEnv().CAREGRID_ZIPKIN_PORT}`;
  return { url, spansEndpoint: `${url}/api/v2/spans` };
}

/** infra/infra.sh's Mailpit: the SMTP address the `mail` binding sends to, its HTTP API, the local sender address. */
export function localMailpit(): { smtpHost: string; smtpPort: string; apiUrl: string; sender: string } {
  const env = readInfraEnv();
  return {
    smtpHost: '127.0.0.1',
    smtpPort: env.CAREGRID_MAILPIT_SMTP_PORT!,
    apiUrl: `http://127.0.0.1:${env.CAREGRID_MAILPIT_HTTP_PORT}`,
    sender: env.CAREGRID_MAIL_FROM!,
  };
}

/**
 * Environment every local sidecar gets: the values that components/ reads
 * through `envRef` (and the Configurations through `${…}`), differing between
 * local, compose and Kubernetes. A run file's env, given to the launcher's
 * sidecars after these, takes precedence. These are the dev system's; test
 * sidecars get the tests' broker, secrets and registry on top (testing.ts, test-stack.ts).
 */
export function sidecarEnvironment(): Record<string, string> {
  const infra = localInfra();
  return {
    DAPR_HOST_IP: '127.0.0.1',
    KAFKA_BROKERS: infra.kafka.brokers,
    CAREGRID_SECRETS_FILE: secretsFile,
    INVOICE_STORAGE_DIR: path.join(stateDir, 'invoices'),
    CAREGRID_NAME_RESOLUTION_DB: nameResolutionDb,
    // The Configurations' tracing.zipkin.endpointAddress.
    OTEL_EXPORTER_ZIPKIN_ENDPOINT: localZipkin().spansEndpoint,
  };
}
