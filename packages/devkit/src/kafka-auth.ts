import { readFileSync } from 'node:fs';
import path from 'node:path';
import { stateDir } from './paths.js';

/**
 * The Kafka logins infra/infra.sh generates (owner-only, never committed): `<user>=<password>`
 * lines, the admin's (SASL/PLAIN) and one per app-id the `events` component scopes (SCRAM-SHA-512).
 * Both local brokers and the tests' own share them.
 */
export const kafkaCredentialsFile = path.join(stateDir, 'kafka-credentials');
/** The admin's login for kcat: `kcat -F <this> -b …`. */
export const kafkaAdminKcatConfig = path.join(stateDir, 'kafka-admin.conf');
/** The admin's login for Kafka's Java tools: `--command-config <this>`. */
export const kafkaAdminProperties = path.join(stateDir, 'kafka-admin.properties');

export function kafkaCredentials(): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(kafkaCredentialsFile, 'utf8');
  } catch {
    return {};
  }
  const credentials: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !line.startsWith('#')) credentials[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return credentials;
}

/** The admin's password (the brokers' server.properties hold it): infra/infra.sh generated it with the tests' broker. */
export function kafkaAdminPassword(): string {
  const password = kafkaCredentials().admin;
  if (!password) throw new Error(`${kafkaCredentialsFile} holds no admin password: run infra/infra.sh up kafka-test first`);
  return password;
}

/** An app's own Kafka password (its sidecar's KAFKA_SASL_PASSWORD); undefined for an app with no Kafka user. */
export const kafkaPassword = (appId: string): string | undefined => kafkaCredentials()[appId];

/** kcat's options to reach `brokers` as the admin (-q first: kcat then keeps quiet about reading the file). */
export const kcatAsAdmin = (brokers: string): string[] => ['-q', '-F', kafkaAdminKcatConfig, '-b', brokers];
