/**
 * PostgreSQL for the services: the pool and transactions, migrations, the outbox (writes and the
 * relay's store), dead letters and idempotency keys, each in postgres/; this is their one entry
 * (`@caregrid/platform/postgres`), and the opener that puts them together.
 */
import { migratePostgres } from './postgres/migrations.js';
import { pgDeadLetterMigration, pgDeadLetterRedriveMigration } from './postgres/dead-letters.js';
import { pgIdempotencyStore } from './postgres/idempotency.js';
import { pgOutboxStore } from './postgres/outbox-store.js';
import { createPgPool } from './postgres/transactions.js';
import type { migrate, Migration } from './migrations.js';

export type { Pool, PoolClient } from 'pg';
export { pgConnectionConfig } from './tls.js';
export * from './scope-clause.js';
export { pgDeadLetterMigration, pgDeadLetterRedriveMigration, pgDeadLetterStore } from './postgres/dead-letters.js';
export { pgIdempotencyStore } from './postgres/idempotency.js';
export {
  pgMigrationTarget,
  pgOutboxMigration,
  pgOutboxClaimsMigration,
  pgOutboxTraceMigration,
  pgIdempotencyMigration,
  pgOutboxAuditTopicMigration,
  pgAuditChainMigration,
  migratePostgres,
} from './postgres/migrations.js';
export { pgOutboxStore } from './postgres/outbox-store.js';
export { enqueueAuditEntries, enqueueEvent, enqueueEvents } from './postgres/outbox-rows.js';
export { writeWithOutboxEvent } from './postgres/outbox-writes.js';
export { atomicStatement, createPgPool, HeldTransaction, inTransaction, withSession } from './postgres/transactions.js';

/**
 * Opener for startService: pool from the secret's URL, platform + service migrations applied;
 * a subscriber (`deadLetters`) also gets the dead-letter table, after its own migrations.
 */
export function postgresDatabase(serviceMigrations: Migration[], options: { deadLetters?: boolean } = {}) {
  return async (url: string, logger?: Parameters<typeof migrate>[2]) => {
    const pool = createPgPool(url);
    await migratePostgres(
      pool,
      options.deadLetters ? [...serviceMigrations, pgDeadLetterMigration, pgDeadLetterRedriveMigration] : serviceMigrations,
      logger,
    );
    return {
      db: pool,
      check: () => pool.query('SELECT 1'),
      close: () => pool.end(),
      outbox: pgOutboxStore(pool),
      idempotency: pgIdempotencyStore(pool),
    };
  };
}
