import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { AUDIT_TRAIL_DATABASE } from '@caregrid/platform/mongo';
import { localInfra, localMailpit, secretsFile } from './paths.js';
import { readSecrets, writeSecrets, type SecretsDocument } from './secrets-file.js';
import { GENERATOR_KEYS, secretGenerators } from './policy.js';
import { provisionAuditTrail, type AuditTrailAccess } from './audit-trail.js';
import { sqlName } from './names.js';

export { sqlName } from './names.js';
export { readSecrets, writeSecrets, writePrivateFile, type SecretsDocument } from './secrets-file.js';

export type DatabaseEngine = 'postgres' | 'mysql' | 'mongodb';
export const DATABASE_ENGINES: readonly DatabaseEngine[] = ['postgres', 'mysql', 'mongodb'];

const newPassword = () => randomBytes(18).toString('base64url');

/**
 * Creates (or re-syncs) one database and one login role owning it, and returns
 * the URL the service will find in its secret. Idempotent: an existing role
 * gets the given password again, an existing database is kept.
 */
export async function provisionDatabase(engine: DatabaseEngine, name: string, password = newPassword()): Promise<string> {
  const infra = localInfra();
  const db = sqlName(name);
  if (engine === 'postgres') {
    const admin = new pg.Client({ ...infra.postgres.admin, database: 'postgres' });
    await admin.connect();
    try {
      const role = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [db]);
      // Identifiers cannot be bound as parameters; sqlName() restricts them to [a-z0-9_].
      const passwordLiteral = admin.escapeLiteral(password);
      await admin.query(
        role.rowCount
          ? `ALTER ROLE ${db} WITH LOGIN PASSWORD ${passwordLiteral}`
          : `CREATE ROLE ${db} WITH LOGIN PASSWORD ${passwordLiteral}`,
      );
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
      if (!exists.rowCount) await admin.query(`CREATE DATABASE ${db} OWNER ${db}`);
    } finally {
      await admin.end();
    }
    return `postgres://${db}:${encodeURIComponent(password)}@127.0.0.1:${infra.postgres.port}/${db}`;
  }
  if (engine === 'mysql') {
    const admin = await mysql.createConnection(infra.mysql.admin);
    try {
      await admin.query(`CREATE DATABASE IF NOT EXISTS \`${db}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      await admin.query(`CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?`, [db, password]);
      await admin.query(`ALTER USER ?@'%' IDENTIFIED BY ?`, [db, password]);
      await admin.query(`GRANT ALL PRIVILEGES ON \`${db}\`.* TO ?@'%'`, [db]);
    } finally {
      await admin.end();
    }
    return `mysql://${db}:${encodeURIComponent(password)}@127.0.0.1:${infra.mysql.port}/${db}`;
  }
  // FerretDB on SQLite (and the test MongoDB container) has no users: a database per service is the isolation.
  return `mongodb://127.0.0.1:${infra.mongo.port}/${db}`;
}

export async function dropDatabase(engine: DatabaseEngine, name: string): Promise<void> {
  const infra = localInfra();
  const db = sqlName(name);
  if (engine === 'postgres') {
    const admin = new pg.Client({ ...infra.postgres.admin, database: 'postgres' });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS ${db}`);
    } finally {
      await admin.end();
    }
  } else if (engine === 'mysql') {
    const admin = await mysql.createConnection(infra.mysql.admin);
    try {
      await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
      await admin.query(`DROP USER IF EXISTS ?@'%'`, [db]);
    } finally {
      await admin.end();
    }
  }
}

/**
 * Takes one PostgreSQL database away from its service (no new connections, the open ones
 * ended) or gives it back, leaving the shared server and every other database alone: a
 * database outage for fault tests.
 */
export async function setDatabaseAvailable(databaseUrl: string, available: boolean): Promise<void> {
  const db = sqlName(decodeURIComponent(new URL(databaseUrl).pathname.slice(1)));
  const admin = new pg.Client({ ...localInfra().postgres.admin, database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`ALTER DATABASE ${db} WITH ALLOW_CONNECTIONS ${available ? 'true' : 'false'}`);
    if (!available) await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [db]);
  } finally {
    await admin.end();
  }
}

const passwordOf = (url: string | undefined) => {
  if (!url) return undefined;
  const password = new URL(url).password;
  return password ? decodeURIComponent(password) : undefined;
};

/**
 * For each app of the run file: `CAREGRID_DATABASE` (postgres | mysql |
 * mongodb) gets a database and `databaseUrl` in the app's secret (named after
 * its app-id); `CAREGRID_GENERATED_SECRETS` (e.g. `signingKeys,bootstrapAdmin`)
 * gets those generated; `CAREGRID_SENDS_MAIL=true` gets the local Mailpit as its
 * mail server (components/mail.yaml: `smtpHost`, `smtpPort`, `smtpUser`,
 * `smtpPassword`, `mailFrom`). Existing values are kept: passwords and keys are made
 * once. `CAREGRID_AUDIT_TRAIL=true` gets the audit trail (audit-trail.ts), named as in Compose and
 * Kubernetes (AUDIT_TRAIL_DATABASE), and its two logins' URLs (`auditWriterUrl`, `auditRetentionUrl`).
 * `databaseFor` and `auditTrailFor` let tests give each run databases of its own.
 */
export async function provisionServiceSecrets(
  apps: { appId: string; env: Record<string, string> }[],
  file = secretsFile,
  databaseFor: (engine: DatabaseEngine, appId: string, current: string | undefined) => Promise<string> = (engine, appId, current) =>
    provisionDatabase(engine, appId, passwordOf(current)),
  auditTrailFor: () => Promise<AuditTrailAccess> = () => provisionAuditTrail(AUDIT_TRAIL_DATABASE),
): Promise<SecretsDocument> {
  const secrets = readSecrets(file);
  for (const app of apps) {
    const current = { ...secrets[app.appId] };
    const engine = app.env.CAREGRID_DATABASE as DatabaseEngine | undefined;
    if (engine) {
      if (!DATABASE_ENGINES.includes(engine))
        throw new Error(`${app.appId}: CAREGRID_DATABASE must be one of ${DATABASE_ENGINES.join(', ')}`);
      current.databaseUrl = await databaseFor(engine, app.appId, current.databaseUrl);
    }
    if (app.env.CAREGRID_AUDIT_TRAIL === 'true') Object.assign(current, await auditTrailFor());
    for (const name of (app.env.CAREGRID_GENERATED_SECRETS ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean)) {
      const generate = secretGenerators[name];
      if (!generate)
        throw new Error(`${app.appId}: unknown generated secret "${name}" (known: ${Object.keys(secretGenerators).join(', ')})`);
      if (current[GENERATOR_KEYS[name]!] === undefined) Object.assign(current, await generate());
    }
    if (app.env.CAREGRID_SENDS_MAIL === 'true') {
      // Mailpit accepts any login (infra/infra.sh); the binding logs in all the same, as with a real relay.
      const server = localMailpit();
      Object.assign(current, {
        smtpHost: server.smtpHost,
        smtpPort: server.smtpPort,
        smtpUser: app.appId,
        smtpPassword: current.smtpPassword ?? newPassword(),
        mailFrom: server.sender,
      });
    }
    if (Object.keys(current).length > 0) secrets[app.appId] = current;
  }
  writeSecrets(secrets, file);
  return secrets;
}
