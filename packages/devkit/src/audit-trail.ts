import { readFileSync } from 'node:fs';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { AUDIT_TRAIL_LAYOUT, createLayout } from '@caregrid/platform/mongo';
import { sqlName } from './names.js';
import { auditCredentialsFile, infraMode, localInfra } from './paths.js';

/** What analytics-service's secret holds for its audit trail: one login to append and read, one for retention. */
export type AuditTrailAccess = { auditWriterUrl: string; auditRetentionUrl: string };

type Login = 'owner' | 'writer' | 'retention';

/**
 * What each login may do beyond reading (every table the owner makes is readable by both:
 * infra/infra.sh's default privileges), as PostgreSQL grants on the tables FerretDB made for the
 * layout's collections. The writer appends entries and moves analytics-service's own chain head
 * by inserting; retention removes entries and keeps the checkpoints. Neither may update an entry.
 */
const RIGHTS: Record<keyof typeof AUDIT_TRAIL_LAYOUT, Partial<Record<Exclude<Login, 'owner'>, string>>> = {
  audit: { writer: 'INSERT', retention: 'DELETE' },
  audit_chain_moves: { writer: 'INSERT' },
  audit_checkpoints: { retention: 'INSERT, UPDATE' },
};

function passwordOf(login: Login): string {
  let text: string;
  try {
    text = readFileSync(auditCredentialsFile, 'utf8');
  } catch {
    throw new Error(`${auditCredentialsFile} is missing: run infra/infra.sh up ferretdb-audit`);
  }
  const password = text.match(new RegExp(`^${login}=(.+)$`, 'm'))?.[1];
  if (!password) throw new Error(`${auditCredentialsFile} has no ${login} password: run infra/infra.sh up ferretdb-audit`);
  return password;
}

/**
 * A login's URL for one trail (a FerretDB database, a PostgreSQL schema). FerretDB on PostgreSQL
 * signs a client in with PLAIN, as the PostgreSQL role of that name. The MongoDB container of
 * CAREGRID_INFRA=containers runs without users: there each trail is a database of its own, as
 * every other service's, and the roles of Compose and Kubernetes (their Mongo init script) are not
 * exercised.
 */
function trailUrl(login: Login, database: string): string {
  const { port } = localInfra().auditTrail;
  if (infraMode() === 'containers') return `mongodb://127.0.0.1:${port}/${database}`;
  const user = `caregrid_audit_${login}`;
  return `mongodb://${user}:${encodeURIComponent(passwordOf(login))}@127.0.0.1:${port}/${database}?authMechanism=PLAIN&authSource=%24external`;
}

async function asOwner<T>(database: string, work: (client: MongoClient) => Promise<T>): Promise<T> {
  const client = new MongoClient(trailUrl('owner', database), { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

/** The grants of RIGHTS on the tables behind the trail's collections, as the superuser. */
async function grantRights(schema: string): Promise<void> {
  const admin = new pg.Client({ ...localInfra().postgres.admin, database: 'caregrid_audit' });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ collection: string; tbl: string }>(
      `SELECT _jsonb->>'_id' AS collection, _jsonb->>'table' AS tbl FROM ${schema}._ferretdb_database_metadata`,
    );
    const tables = new Map(rows.map((row) => [row.collection, row.tbl]));
    for (const [collection, rights] of Object.entries(RIGHTS)) {
      const table = tables.get(collection);
      // FerretDB names tables `<collection>_<hash>`; anything else is not a table it made.
      if (!table || !/^[a-z0-9_]+$/.test(table)) throw new Error(`audit trail ${schema}: no table for ${collection}`);
      for (const [login, privileges] of Object.entries(rights))
        await admin.query(`GRANT ${privileges} ON ${schema}.${table} TO caregrid_audit_${login}`);
    }
  } finally {
    await admin.end();
  }
}

/**
 * Makes (or re-syncs) one audit trail: its collections and indexes as the owner, then each login's
 * rights. Idempotent. The logins and their passwords are the server's (infra/infra.sh makes them
 * once), so every trail on it shares them.
 */
export async function provisionAuditTrail(name: string): Promise<AuditTrailAccess> {
  const database = sqlName(name);
  await asOwner(database, (client) => createLayout(client.db(), AUDIT_TRAIL_LAYOUT));
  if (infraMode() === 'local') await grantRights(database);
  return { auditWriterUrl: trailUrl('writer', database), auditRetentionUrl: trailUrl('retention', database) };
}

/** The owner's URL for the trail a writer's URL names: for tests that play an insider holding the store itself. */
export function auditTrailOwnerUrl(writerUrl: string): string {
  return trailUrl('owner', decodeURIComponent(new URL(writerUrl).pathname.slice(1)));
}

export async function dropAuditTrail(name: string): Promise<void> {
  await asOwner(sqlName(name), (client) => client.db().dropDatabase());
}
