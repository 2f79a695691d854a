import mysql from 'mysql2/promise';
import { DependencyUnavailableError } from '../errors.js';
import { migrate, migration, type Migration, type MigrationTarget } from './migrations.js';
import type { OutboxEvent, OutboxStore } from './outbox.js';

export type { Pool, PoolConnection } from 'mysql2/promise';

export function createMysqlPool(connectionString: string, options: { max?: number } = {}): mysql.Pool {
  return mysql.createPool({
    uri: connectionString,
    connectionLimit: options.max ?? 10,
    connectTimeout: 5_000,
    // Timestamps are stored and read as UTC whatever the server's zone.
    timezone: 'Z',
    dateStrings: ['DATE'],
    // Migrations are multi-statement SQL files.
    multipleStatements: true,
  });
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'PROTOCOL_CONNECTION_LOST', 'ER_CON_COUNT_ERROR']);

export async function inMysqlTransaction<T>(pool: mysql.Pool, fn: (connection: mysql.PoolConnection) => Promise<T>): Promise<T> {
  let connection: mysql.PoolConnection;
  try {
    connection = await pool.getConnection();
  } catch (error) {
    throw new DependencyUnavailableError('database', error);
  }
  try {
    await connection.beginTransaction();
    const result = await fn(connection);
    await connection.commit();
    return result;
  } catch (error) {
    await connection.rollback().catch(() => undefined);
    if (UNAVAILABLE_CODES.has((error as { code?: string }).code ?? '')) throw new DependencyUnavailableError('database', error);
    throw error;
  } finally {
    connection.release();
  }
}

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

export function migrateMysql(pool: mysql.Pool, serviceMigrations: Migration[], logger?: Parameters<typeof migrate>[2]) {
  return migrate(mysqlMigrationTarget(pool), [mysqlOutboxMigration, ...serviceMigrations], logger);
}

export async function enqueueMysqlEvent(connection: mysql.PoolConnection | mysql.Pool, event: Omit<OutboxEvent, 'time'>): Promise<void> {
  await connection.execute('INSERT INTO outbox (id, topic, type, subject, data) VALUES (?, ?, ?, ?, ?)', [
    event.id,
    event.topic,
    event.type,
    event.subject,
    JSON.stringify(event.data),
  ]);
}

export function mysqlOutboxStore(pool: mysql.Pool): OutboxStore {
  return {
    append: (event) => enqueueMysqlEvent(pool, event),
    relayBatch: (limit, publish) =>
      inMysqlTransaction(pool, async (connection) => {
        const [rows] = await connection.query<mysql.RowDataPacket[]>(
          `SELECT id, topic, type, subject, data, created_at FROM outbox
            WHERE published_at IS NULL ORDER BY seq LIMIT ? FOR UPDATE SKIP LOCKED`,
          [limit],
        );
        if (rows.length === 0) return 0;
        const events = rows.map((r) => ({
          id: String(r.id),
          topic: String(r.topic),
          type: String(r.type),
          subject: String(r.subject),
          // MariaDB returns JSON columns as text; MySQL as parsed values.
          data: typeof r.data === 'string' ? JSON.parse(r.data) : r.data,
          time: r.created_at as Date,
        }));
        const published = await publish(events);
        if (published.length > 0)
          await connection.query('UPDATE outbox SET published_at = CURRENT_TIMESTAMP(3) WHERE id IN (?)', [published]);
        return published.length;
      }),
    async purgePublished(olderThan) {
      const [result] = await pool.query<mysql.ResultSetHeader>('DELETE FROM outbox WHERE published_at < ?', [olderThan]);
      return result.affectedRows;
    },
  };
}

/** Opener for startService: pool from the secret's URL, platform + service migrations applied. */
export function mysqlDatabase(serviceMigrations: Migration[]) {
  return async (url: string, logger?: Parameters<typeof migrate>[2]) => {
    const pool = createMysqlPool(url);
    await migrateMysql(pool, serviceMigrations, logger);
    return { db: pool, check: () => pool.query('SELECT 1'), close: () => pool.end(), outbox: mysqlOutboxStore(pool) };
  };
}
