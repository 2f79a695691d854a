/**
 * MySQL (MariaDB locally) for the services: the pool and transactions, migrations, outbox rows and
 * the relay's store, each in mysql/; this is their one entry (`@caregrid/platform/mysql`), and the
 * opener that puts them together.
 */
import { migrateMysql } from './mysql/migrations.js';
import { mysqlOutboxStore } from './mysql/outbox-store.js';
import { createMysqlPool } from './mysql/transactions.js';
import type { migrate, Migration } from './migrations.js';

export type { Pool, PoolConnection } from 'mysql2/promise';
export { mysqlConnectionConfig } from './tls.js';
export {
  mysqlMigrationTarget,
  mysqlOutboxMigration,
  mysqlOutboxClaimsMigration,
  mysqlOutboxTraceMigration,
  mysqlOutboxAuditTopicMigration,
  mysqlAuditChainMigration,
  migrateMysql,
} from './mysql/migrations.js';
export { enqueueMysqlEvent, enqueueMysqlEvents, enqueueMysqlAuditEntries } from './mysql/outbox-rows.js';
export { mysqlOutboxStore } from './mysql/outbox-store.js';
export { createMysqlPool, inMysqlTransaction } from './mysql/transactions.js';

/** Opener for startService: pool from the secret's URL, platform + service migrations applied. */
export function mysqlDatabase(serviceMigrations: Migration[]) {
  return async (url: string, logger?: Parameters<typeof migrate>[2]) => {
    const pool = createMysqlPool(url);
    await migrateMysql(pool, serviceMigrations, logger);
    return { db: pool, check: () => pool.query('SELECT 1'), close: () => pool.end(), outbox: mysqlOutboxStore(pool) };
  };
}
