import pg from 'pg';
import { inTransaction } from './transactions.js';
import { GENESIS_HASH } from '../../audit/chain.js';
import { migrate, migration, type Migration, type MigrationTarget } from '../migrations.js';

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

// The trace of the request that wrote the event: the relay publishes it, later, inside that trace.
export const pgOutboxTraceMigration = migration('platform_003_outbox_trace', 'ALTER TABLE outbox ADD COLUMN traceparent text;');

/**
 * The answers kept for Idempotency-Keys (see pgIdempotencyStore): one row per caller, route and
 * key; `owner` and `locked_until` while the first request runs, `status`… once it answered.
 */
export const pgIdempotencyMigration = migration(
  'platform_004_idempotency_keys',
  `CREATE TABLE idempotency_keys (
     caller text NOT NULL,
     route text NOT NULL,
     key text NOT NULL,
     request_hash text NOT NULL,
     owner uuid,
     locked_until timestamptz,
     status smallint,
     headers jsonb,
     body bytea,
     audit jsonb,
     created_at timestamptz NOT NULL DEFAULT now(),
     expires_at timestamptz NOT NULL,
     PRIMARY KEY (caller, route, key)
   );
   CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);`,
);

/**
 * Audit entries still waiting under the old shared topic `audit` move to the service's own
 * (`audit.<app-id>`, the entry's `service` in its own outbox): nobody may publish `audit` any more.
 */
export const pgOutboxAuditTopicMigration = migration(
  'platform_005_audit_topic_per_service',
  `UPDATE outbox SET topic = 'audit.' || (data->>'service') WHERE topic = 'audit' AND published_at IS NULL`,
);

/**
 * The head of each service's audit hash chain (audit/chain.ts): the last entry's number and hash.
 * Its row is locked by every transaction that queues entries, until it commits: entries get
 * consecutive numbers in commit order, however many replicas write.
 */
export const pgAuditChainMigration = migration(
  'platform_006_audit_chain',
  `CREATE TABLE audit_chain (
     service text PRIMARY KEY,
     seq bigint NOT NULL DEFAULT 0,
     hash text NOT NULL DEFAULT '${GENESIS_HASH}'
   );`,
);

/** Platform tables first (outbox, idempotency keys), then the service's own migrations. */
export function migratePostgres(pool: pg.Pool, serviceMigrations: Migration[], logger?: Parameters<typeof migrate>[2]) {
  return migrate(
    pgMigrationTarget(pool),
    [
      pgOutboxMigration,
      pgOutboxClaimsMigration,
      pgOutboxTraceMigration,
      pgIdempotencyMigration,
      pgOutboxAuditTopicMigration,
      pgAuditChainMigration,
      ...serviceMigrations,
    ],
    logger,
  );
}
