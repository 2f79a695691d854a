import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const stateDir = process.env.CAREGRID_HOME ?? path.join(repoRoot, '.caregrid');
export const logsDir = path.join(stateDir, 'logs');
export const daprdBinary = path.join(stateDir, 'bin', 'daprd');
export const secretsFile = path.join(stateDir, 'secrets.json');
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

export type LocalInfra = {
  postgres: { port: number; socketDir: string };
  mysql: { port: number; socket: string };
  kafka: { brokers: string };
  mongo: { port: number };
};

export function localInfra(): LocalInfra {
  const env = readInfraEnv();
  const port = (name: string) => {
    const value = Number(env[name]);
    if (!Number.isInteger(value)) throw new Error(`infra/infra.env: ${name} is not a port`);
    return value;
  };
  return {
    postgres: { port: port('CAREGRID_PG_PORT'), socketDir: path.join(stateDir, 'run', 'postgres') },
    mysql: { port: port('CAREGRID_MYSQL_PORT'), socket: path.join(stateDir, 'run', 'mysql', 'mysqld.sock') },
    kafka: { brokers: `127.0.0.1:${port('CAREGRID_KAFKA_PORT')}` },
    mongo: { port: port('CAREGRID_MONGO_PORT') },
  };
}

/**
 * Environment every local sidecar gets: the values that components/ reads
 * through `envRef`, differing between local, compose and Kubernetes.
 */
export function sidecarEnvironment(): Record<string, string> {
  const infra = localInfra();
  return {
    DAPR_HOST_IP: '127.0.0.1',
    KAFKA_BROKERS: infra.kafka.brokers,
    CAREGRID_SECRETS_FILE: secretsFile,
    INVOICE_STORAGE_DIR: path.join(stateDir, 'invoices'),
  };
}
