import pg from 'pg';
import { DependencyUnavailableError } from '../errors.js';
import { migrate, migration, type Migration, type MigrationTarget } from './migrations.js';
import type { OutboxEvent, OutboxStore } from './outbox.js';
import { toPage } from '../pagination.js';

export type { Pool, PoolClient } from 'pg';

// Dates come back as ISO strings in the API anyway; DATE columns stay 'YYYY-MM-DD' instead of local midnight.
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);

export function createPgPool(connectionString: string, options: { max?: number } = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10, connectionTimeoutMillis: 5_000, idleTimeoutMillis: 30_000 });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  return pool;
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '53300', '08006', '08001']);

/** Runs `fn` in a transaction; connection-level failures surface as 503, not 500. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw new DependencyUnavailableError('database', error);
  }
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (UNAVAILABLE_CODES.has((error as { code?: string }).code ?? '')) throw new DependencyUnavailableError('database', error);
    throw error;
  } finally {
    client.release();
  }
}

export function pgMigrationTarget(pool: pg.Pool): MigrationTarget {
  return {
    async withLock(fn) {
      const client = await pool.connect();
      try {
        await client.query("SELECT pg_advisory_lock(hashtext('caregrid.schema_migrations'))");
        await client.query(
          'CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
        );
        return await fn();
      } finally {
        await client.query("SELECT pg_advisory_unlock(hashtext('caregrid.schema_migrations'))").catch(() => undefined);
        client.release();
      }
    },
    async applied() {
      const { rows } = await pool.query<{ version: string; checksum: string }>('SELECT version, checksum FROM schema_migrations');
      return new Map(rows.map((row) => [row.version, row.checksum]));
    },
    async apply(m) {
      // PostgreSQL DDL is transactional: a failing migration leaves nothing behind.
      await inTransaction(pool, async (client) => {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)', [m.version, m.checksum]);
      });
    },
  };
}

export const pgOutboxMigration = migration(
  'platform_001_outbox',
  `CREATE TABLE outbox (
     id uuid PRIMARY KEY,
     topic text NOT NULL,
     type text NOT NULL,
     subject text NOT NULL,
     data jsonb NOT NULL,
     created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
     published_at timestamptz
   );
   CREATE INDEX outbox_pending ON outbox (created_at, id) WHERE published_at IS NULL;`,
);

// Claims (lease), attempts and parking for the relay (see outbox.ts). The subject index serves
// the "no earlier row of this subject is parked or claimed elsewhere" test of every claim.
export const pgOutboxClaimsMigration = migration(
  'platform_002_outbox_claims',
  `ALTER TABLE outbox
     ADD COLUMN claimed_by text,
     ADD COLUMN claimed_until timestamptz,
     ADD COLUMN attempts integer NOT NULL DEFAULT 0,
     ADD COLUMN last_error text,
     ADD COLUMN parked_at timestamptz;
   CREATE INDEX outbox_pending_subject ON outbox (topic, subject, created_at, id) WHERE published_at IS NULL;
   CREATE INDEX outbox_parked ON outbox (id) WHERE parked_at IS NOT NULL AND published_at IS NULL;`,
);

/** Platform tables first (outbox), then the service's own migrations. */
export function migratePostgres(pool: pg.Pool, serviceMigrations: Migration[], logger?: Parameters<typeof migrate>[2]) {
  return migrate(pgMigrationTarget(pool), [pgOutboxMigration, pgOutboxClaimsMigration, ...serviceMigrations], logger);
}

/** Adds an event to the outbox inside the caller's transaction. */
export async function enqueueEvent(client: pg.PoolClient | pg.Pool, event: Omit<OutboxEvent, 'time'>): Promise<void> {
  await client.query('INSERT INTO outbox (id, topic, type, subject, data) VALUES ($1, $2, $3, $4, $5)', [
    event.id,
    event.topic,
    event.type,
    event.subject,
    JSON.stringify(event.data),
  ]);
}

type PgOutboxRow = { id: string; topic: string; type: string; subject: string; data: unknown; created_at: Date; attempts: number };

export function pgOutboxStore(pool: pg.Pool): OutboxStore {
  return {
    append: (event) => enqueueEvent(pool, event),
    claim: (relayId, limit, leaseMs) =>
      inTransaction(pool, async (client) => {
        // One claimer at a time (released at commit): two relays must not both see a subject's
        // head as free. Publishing happens after this transaction, without it.
        await client.query("SELECT pg_advisory_xact_lock(hashtext('caregrid.outbox.claim'))");
        const { rows } = await client.query<PgOutboxRow>(
          `WITH candidates AS (
             SELECT o.id FROM outbox o
              WHERE o.published_at IS NULL AND o.parked_at IS NULL
                AND (o.claimed_until IS NULL OR o.claimed_until < now() OR o.claimed_by = $1)
                AND NOT EXISTS (
                  SELECT 1 FROM outbox e
                   WHERE e.topic = o.topic AND e.subject = o.subject AND e.published_at IS NULL
                     AND (e.created_at, e.id) < (o.created_at, o.id)
                     AND (e.parked_at IS NOT NULL OR (e.claimed_by <> $1 AND e.claimed_until >= now())))
              ORDER BY o.created_at, o.id LIMIT $2),
           claimed AS (
             UPDATE outbox SET claimed_by = $1, claimed_until = now() + $3 * interval '1 millisecond'
              WHERE id IN (SELECT id FROM candidates)
              RETURNING id, topic, type, subject, data, created_at, attempts)
           SELECT * FROM claimed ORDER BY created_at, id`,
          [relayId, limit, leaseMs],
        );
        return rows.map((r) => ({
          id: r.id,
          topic: r.topic,
          type: r.type,
          subject: r.subject,
          data: r.data,
          time: r.created_at,
          attempts: r.attempts,
        }));
      }),
    async markPublished(ids) {
      await pool.query(
        'UPDATE outbox SET published_at = now(), claimed_by = NULL, claimed_until = NULL WHERE id = ANY($1::uuid[]) AND published_at IS NULL',
        [ids],
      );
    },
    async recordFailure(id, error, maxAttempts) {
      const { rows } = await pool.query<{ parked: boolean }>(
        `UPDATE outbox SET attempts = attempts + 1, last_error = $2, claimed_by = NULL, claimed_until = NULL,
                parked_at = CASE WHEN attempts + 1 >= $3 THEN now() END
          WHERE id = $1 AND published_at IS NULL RETURNING parked_at IS NOT NULL AS parked`,
        [id, error, maxAttempts],
      );
      return { parked: rows[0]?.parked ?? false };
    },
    async release(relayId) {
      await pool.query('UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = $1 AND published_at IS NULL', [
        relayId,
      ]);
    },
    async listParked({ limit, after }) {
      const { rows } = await pool.query<{
        id: string;
        topic: string;
        type: string;
        subject: string;
        attempts: number;
        last_error: string | null;
        created_at: Date;
        parked_at: Date;
        held: number;
      }>(
        `SELECT p.id, p.topic, p.type, p.subject, p.attempts, p.last_error, p.created_at, p.parked_at,
                (SELECT count(*)::int FROM outbox h
                  WHERE h.topic = p.topic AND h.subject = p.subject AND h.published_at IS NULL
                    AND (h.created_at, h.id) > (p.created_at, p.id)) AS held
           FROM outbox p
          WHERE p.parked_at IS NOT NULL AND p.published_at IS NULL AND ($2::uuid IS NULL OR p.id > $2::uuid)
          ORDER BY p.id LIMIT $1`,
        [limit + 1, after ?? null],
      );
      return toPage(
        rows,
        limit,
        (r) => ({
          id: r.id,
          topic: r.topic,
          type: r.type,
          subject: r.subject,
          attempts: r.attempts,
          lastError: r.last_error,
          createdAt: r.created_at.toISOString(),
          parkedAt: r.parked_at.toISOString(),
          held: r.held,
        }),
        (r) => [r.id],
      );
    },
    async redrive(id) {
      const result = await pool.query(
        `UPDATE outbox SET parked_at = NULL, attempts = 0, last_error = NULL, claimed_by = NULL, claimed_until = NULL
          WHERE id = $1 AND parked_at IS NOT NULL AND published_at IS NULL`,
        [id],
      );
      return (result.rowCount ?? 0) > 0;
    },
    async purgePublished(olderThan) {
      const result = await pool.query('DELETE FROM outbox WHERE published_at < $1', [olderThan]);
      return result.rowCount ?? 0;
    },
  };
}

/** Opener for startService: pool from the secret's URL, platform + service migrations applied. */
export function postgresDatabase(serviceMigrations: Migration[]) {
  return async (url: string, logger?: Parameters<typeof migrate>[2]) => {
    const pool = createPgPool(url);
    await migratePostgres(pool, serviceMigrations, logger);
    return { db: pool, check: () => pool.query('SELECT 1'), close: () => pool.end(), outbox: pgOutboxStore(pool) };
  };
}
