import mysql from 'mysql2/promise';
import { GENESIS_HASH } from '../../audit/chain.js';
import { migrate, migration, type Migration, type MigrationTarget } from '../migrations.js';

// GET_LOCK names are server-wide (PostgreSQL's advisory locks are per database): the database's
// name keeps services and test databases sharing one server from waiting on each other.
const MIGRATION_LOCK = "LEFT(CONCAT('schema_migrations.', DATABASE()), 64)";

export function mysqlMigrationTarget(pool: mysql.Pool): MigrationTarget {
  return {
    async withLock(fn) {
      const connection = await pool.getConnection();
      try {
        const [rows] = await connection.query<mysql.RowDataPacket[]>(`SELECT GET_LOCK(${MIGRATION_LOCK}, 60) AS locked`);
        if (rows[0]?.locked !== 1) throw new Error('could not take the migration lock within 60 s');
        await connection.query(
          'CREATE TABLE IF NOT EXISTS schema_migrations (version VARCHAR(191) PRIMARY KEY, checksum CHAR(64) NOT NULL, applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))',
        );
        return await fn();
      } finally {
        await connection.query(`SELECT RELEASE_LOCK(${MIGRATION_LOCK})`).catch(() => undefined);
        connection.release();
      }
    },
    async applied() {
      const [rows] = await pool.query<mysql.RowDataPacket[]>('SELECT version, checksum FROM schema_migrations');
      return new Map(rows.map((row) => [String(row.version), String(row.checksum)]));
    },
    async apply(m) {
      // MySQL commits DDL implicitly: keep one schema change per migration file.
      await pool.query(m.sql);
      await pool.query('INSERT INTO schema_migrations (version, checksum) VALUES (?, ?)', [m.version, m.checksum]);
    },
  };
}

export const mysqlOutboxMigration = migration(
  'platform_001_outbox',
  `CREATE TABLE outbox (
     seq BIGINT AUTO_INCREMENT PRIMARY KEY,
     id CHAR(36) NOT NULL UNIQUE,
     topic VARCHAR(191) NOT NULL,
     type VARCHAR(191) NOT NULL,
     subject VARCHAR(191) NOT NULL,
     data JSON NOT NULL,
     created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
     published_at TIMESTAMP(3) NULL,
     KEY outbox_pending (published_at, seq)
   ) ENGINE=InnoDB`,
);

// Claims (lease), attempts and parking for the relay (see outbox.ts): one ALTER, as DDL is not
// transactional here. The subject key serves the "no earlier row of this subject is parked or
// claimed elsewhere" test of every claim.
export const mysqlOutboxClaimsMigration = migration(
  'platform_002_outbox_claims',
  `ALTER TABLE outbox
     ADD COLUMN claimed_by VARCHAR(191) NULL,
     ADD COLUMN claimed_until TIMESTAMP(3) NULL,
     ADD COLUMN attempts INT NOT NULL DEFAULT 0,
     ADD COLUMN last_error TEXT NULL,
     ADD COLUMN parked_at TIMESTAMP(3) NULL,
     ADD KEY outbox_subject (topic, subject, seq),
     ADD KEY outbox_parked (parked_at, published_at)`,
);

// The trace of the request that wrote the event: the relay publishes it, later, inside that trace.
export const mysqlOutboxTraceMigration = migration(
  'platform_003_outbox_trace',
  'ALTER TABLE outbox ADD COLUMN traceparent VARCHAR(55) NULL',
);

/** As pgOutboxAuditTopicMigration: pending entries of the old shared `audit` topic move to the service's own. */
export const mysqlOutboxAuditTopicMigration = migration(
  'platform_004_audit_topic_per_service',
  `UPDATE outbox SET topic = CONCAT('audit.', JSON_UNQUOTE(JSON_EXTRACT(data, '$.service'))) WHERE topic = 'audit' AND published_at IS NULL`,
);

/** As pgAuditChainMigration: the head of each service's audit hash chain, locked by the transactions that queue entries. */
export const mysqlAuditChainMigration = migration(
  'platform_005_audit_chain',
  `CREATE TABLE audit_chain (
     service VARCHAR(191) PRIMARY KEY,
     seq BIGINT NOT NULL DEFAULT 0,
     hash CHAR(64) NOT NULL DEFAULT '${GENESIS_HASH}'
   )`,
);

export function migrateMysql(pool: mysql.Pool, serviceMigrations: Migration[], logger?: Parameters<typeof migrate>[2]) {
  return migrate(
    mysqlMigrationTarget(pool),
    [
      mysqlOutboxMigration,
      mysqlOutboxClaimsMigration,
      mysqlOutboxTraceMigration,
      mysqlOutboxAuditTopicMigration,
      mysqlAuditChainMigration,
      ...serviceMigrations,
    ],
    logger,
  );
}
