import mysql, { type RowDataPacket } from 'mysql2/promise';
import type { AuditEntry } from '@caregrid/contracts';
import { auditEntryForWrite } from '../audit/trail.js';
import { chainEntries, GENESIS_HASH } from '../audit/chain.js';
import { currentContext } from '../context.js';
import { endSpan, startStatementSpan, tracingEnabled } from '../tracing.js';
import { DependencyUnavailableError } from '../errors.js';
import { migrate, migration, type Migration, type MigrationTarget } from './migrations.js';
import { auditRowsByChain, isAuditRow, outboxRowValues, serializedEventData, type OutboxEvent, type OutboxStore } from './outbox.js';
import { toPage } from '../pagination.js';
import { mysqlConnectionConfig } from './tls.js';

export type { Pool, PoolConnection } from 'mysql2/promise';
export { mysqlConnectionConfig } from './tls.js';

/** A pool for the URL; TLS (`ssl-mode`, `ssl-ca`: a CA file) as in tls.ts. */
export function createMysqlPool(connectionString: string, options: { max?: number } = {}): mysql.Pool {
  const pool = mysql.createPool({
    ...mysqlConnectionConfig(connectionString),
    connectionLimit: options.max ?? 10,
    connectTimeout: 5_000,
    // Timestamps are stored and read as UTC whatever the server's zone.
    timezone: 'Z',
    dateStrings: ['DATE'],
    // Migrations are multi-statement SQL files.
    multipleStatements: true,
  });
  if (tracingEnabled())
    (pool as unknown as { pool: { on(event: 'connection', fn: (c: CoreConnection) => void): void } }).pool.on('connection', traceQueries);
  return pool;
}

type CoreConnection = Record<'query' | 'execute', (...args: unknown[]) => unknown>;
const TRANSACTION_CONTROL = /^\s*(BEGIN|START|COMMIT|ROLLBACK|SELECT (GET|RELEASE)_LOCK)\b/i;

/**
 * A span per statement made while serving a request (startStatementSpan). The promise API runs on
 * the core connection's callback API, patched here once per connection.
 */
function traceQueries(connection: CoreConnection): void {
  for (const method of ['query', 'execute'] as const) {
    const original = connection[method].bind(connection);
    connection[method] = (...args: unknown[]) => {
      const first = args[0] as string | { sql?: string } | undefined;
      const text = typeof first === 'string' ? first : first?.sql;
      const callbackAt = args.findIndex((arg) => typeof arg === 'function');
      const span = text && callbackAt >= 0 ? startStatementSpan('mysql', text, TRANSACTION_CONTROL) : undefined;
      if (!span) return original(...args);
      const callback = args[callbackAt] as (error: unknown, ...rest: unknown[]) => void;
      args[callbackAt] = (error: unknown, ...rest: unknown[]) => {
        endSpan(span, error ?? undefined);
        callback(error, ...rest);
      };
      return original(...args);
    };
  }
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'PROTOCOL_CONNECTION_LOST', 'ER_CON_COUNT_ERROR']);

/** A pooled connection; the database being unreachable is a 503, not a 500. */
async function connect(pool: mysql.Pool): Promise<mysql.PoolConnection> {
  try {
    return await pool.getConnection();
  } catch (error) {
    throw new DependencyUnavailableError('database', error);
  }
}

/** As inTransaction (postgres.ts): in a request to an audited write, its audit entry commits with the change. */
export async function inMysqlTransaction<T>(pool: mysql.Pool, fn: (connection: mysql.PoolConnection) => Promise<T>): Promise<T> {
  const connection = await connect(pool);
  const audit = auditEntryForWrite();
  try {
    await connection.beginTransaction();
    const result = await fn(connection);
    if (audit)
      await enqueueMysqlAuditEntries(connection, [audit.row()]).catch((error: unknown) => {
        throw new DependencyUnavailableError('audit trail', error);
      });
    await connection.commit();
    audit?.committed();
    return result;
  } catch (error) {
    await connection.rollback().catch(() => undefined);
    audit?.failed();
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

export async function enqueueMysqlEvent(connection: mysql.PoolConnection | mysql.Pool, event: Omit<OutboxEvent, 'time'>): Promise<void> {
  await connection.execute(
    'INSERT INTO outbox (id, topic, type, subject, data, traceparent) VALUES (?, ?, ?, ?, ?, ?)',
    outboxRowValues(event),
  );
}

/** Several outbox rows in one statement (one round trip, one commit). */
export async function enqueueMysqlEvents(
  connection: mysql.PoolConnection | mysql.Pool,
  events: Omit<OutboxEvent, 'time'>[],
): Promise<void> {
  if (events.length === 0) return;
  const traceparent = currentContext()?.traceparent ?? null;
  await connection.query('INSERT INTO outbox (id, topic, type, subject, data, traceparent) VALUES ?', [
    events.map((e) => [e.id, e.topic, e.type, e.subject, serializedEventData(e), e.traceparent ?? traceparent]),
  ]);
}

/** As enqueueAuditEntries (postgres.ts): entries linked onto their service's chain, its head row locked (FOR UPDATE) until the caller's transaction ends. */
export async function enqueueMysqlAuditEntries(connection: mysql.PoolConnection, rows: Omit<OutboxEvent, 'time'>[]): Promise<void> {
  for (const [service, serviceRows] of auditRowsByChain(rows)) {
    await connection.execute('INSERT INTO audit_chain (service) VALUES (?) ON DUPLICATE KEY UPDATE service = service', [service]);
    const [heads] = await connection.execute<RowDataPacket[]>('SELECT seq, hash FROM audit_chain WHERE service = ? FOR UPDATE', [service]);
    const chained = chainEntries(
      { seq: Number(heads[0]!.seq), hash: String(heads[0]!.hash) },
      serviceRows.map((row) => row.data as AuditEntry),
    );
    await connection.execute('UPDATE audit_chain SET seq = ?, hash = ? WHERE service = ?', [chained.head.seq, chained.head.hash, service]);
    await enqueueMysqlEvents(
      connection,
      serviceRows.map((row, i) => ({ ...row, data: chained.entries[i] })),
    );
  }
}

/** Outbox rows outside a request's transaction: audit entries among them take their chain places in a transaction of their own. */
async function appendToMysqlOutbox(pool: mysql.Pool, events: Omit<OutboxEvent, 'time'>[]): Promise<void> {
  if (!events.some(isAuditRow)) return enqueueMysqlEvents(pool, events);
  const connection = await connect(pool);
  try {
    await connection.beginTransaction();
    await enqueueMysqlEvents(
      connection,
      events.filter((event) => !isAuditRow(event)),
    );
    await enqueueMysqlAuditEntries(connection, events.filter(isAuditRow));
    await connection.commit();
  } catch (error) {
    await connection.rollback().catch(() => undefined);
    if (UNAVAILABLE_CODES.has((error as { code?: string }).code ?? '')) throw new DependencyUnavailableError('database', error);
    throw error;
  } finally {
    connection.release();
  }
}

// GET_LOCK names are server-wide: the database's name keeps services (and test databases) apart.
const CLAIM_LOCK = "LEFT(CONCAT('outbox_claim.', DATABASE()), 64)";

export function mysqlOutboxStore(pool: mysql.Pool): OutboxStore {
  return {
    append: (event) => appendToMysqlOutbox(pool, [event]),
    appendMany: (events) => appendToMysqlOutbox(pool, events),
    async claim(relayId, limit, leaseMs) {
      const connection = await connect(pool);
      try {
        // One claimer at a time: two relays must not both see a subject's head as free. The lock
        // is held for these two statements only; publishing happens after, without it.
        const [locked] = await connection.query<mysql.RowDataPacket[]>(`SELECT GET_LOCK(${CLAIM_LOCK}, 10) AS locked`);
        if (locked[0]?.locked !== 1) return [];
        try {
          return await inConnectionTransaction(connection, async () => {
            const [rows] = await connection.query<mysql.RowDataPacket[]>(
              `SELECT o.id, o.topic, o.type, o.subject, o.data, o.created_at, o.attempts, o.traceparent FROM outbox o
                WHERE o.published_at IS NULL AND o.parked_at IS NULL
                  AND (o.claimed_until IS NULL OR o.claimed_until < CURRENT_TIMESTAMP(3) OR o.claimed_by = ?)
                  AND NOT EXISTS (
                    SELECT 1 FROM outbox e
                     WHERE e.topic = o.topic AND e.subject = o.subject AND e.published_at IS NULL AND e.seq < o.seq
                       AND (e.parked_at IS NOT NULL OR (e.claimed_by <> ? AND e.claimed_until >= CURRENT_TIMESTAMP(3))))
                ORDER BY o.seq LIMIT ?`,
              [relayId, relayId, limit],
            );
            if (rows.length === 0) return [];
            await connection.query(
              'UPDATE outbox SET claimed_by = ?, claimed_until = CURRENT_TIMESTAMP(3) + INTERVAL ? MICROSECOND WHERE id IN (?)',
              [relayId, leaseMs * 1000, rows.map((r) => String(r.id))],
            );
            return rows.map((r) => ({
              id: String(r.id),
              topic: String(r.topic),
              type: String(r.type),
              subject: String(r.subject),
              // MariaDB returns JSON columns as text; MySQL as parsed values.
              data: typeof r.data === 'string' ? JSON.parse(r.data) : r.data,
              time: r.created_at as Date,
              attempts: Number(r.attempts),
              traceparent: r.traceparent ? String(r.traceparent) : undefined,
            }));
          });
        } finally {
          await connection.query(`SELECT RELEASE_LOCK(${CLAIM_LOCK})`).catch(() => undefined);
        }
      } catch (error) {
        if (UNAVAILABLE_CODES.has((error as { code?: string }).code ?? '')) throw new DependencyUnavailableError('database', error);
        throw error;
      } finally {
        connection.release();
      }
    },
    async markPublished(ids) {
      await pool.query(
        'UPDATE outbox SET published_at = CURRENT_TIMESTAMP(3), claimed_by = NULL, claimed_until = NULL WHERE id IN (?) AND published_at IS NULL',
        [ids],
      );
    },
    async recordFailure(id, error, maxAttempts) {
      // parked_at first: MariaDB assigns left to right (unless SIMULTANEOUS_ASSIGNMENT), so it sees the old attempts.
      const [result] = await pool.query<mysql.ResultSetHeader>(
        `UPDATE outbox SET parked_at = CASE WHEN attempts + 1 >= ? THEN CURRENT_TIMESTAMP(3) END,
                attempts = attempts + 1, last_error = ?, claimed_by = NULL, claimed_until = NULL
          WHERE id = ? AND published_at IS NULL`,
        [maxAttempts, error, id],
      );
      if (result.affectedRows === 0) return { parked: false };
      const [rows] = await pool.query<mysql.RowDataPacket[]>('SELECT parked_at IS NOT NULL AS parked FROM outbox WHERE id = ?', [id]);
      return { parked: Number(rows[0]?.parked) === 1 };
    },
    async release(relayId) {
      await pool.query('UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ? AND published_at IS NULL', [
        relayId,
      ]);
    },
    async listParked({ limit, after }) {
      const [rows] = await pool.query<mysql.RowDataPacket[]>(
        `SELECT p.id, p.topic, p.type, p.subject, p.attempts, p.last_error, p.created_at, p.parked_at,
                (SELECT count(*) FROM outbox h
                  WHERE h.topic = p.topic AND h.subject = p.subject AND h.published_at IS NULL AND h.seq > p.seq) AS held
           FROM outbox p
          WHERE p.parked_at IS NOT NULL AND p.published_at IS NULL AND (? IS NULL OR p.id > ?)
          ORDER BY p.id LIMIT ?`,
        [after ?? null, after ?? null, limit + 1],
      );
      return toPage(
        rows,
        limit,
        (r) => ({
          id: String(r.id),
          topic: String(r.topic),
          type: String(r.type),
          subject: String(r.subject),
          attempts: Number(r.attempts),
          lastError: r.last_error === null ? null : String(r.last_error),
          createdAt: (r.created_at as Date).toISOString(),
          parkedAt: (r.parked_at as Date).toISOString(),
          held: Number(r.held),
        }),
        (r) => [String(r.id)],
      );
    },
    async redrive(id) {
      const [result] = await pool.query<mysql.ResultSetHeader>(
        `UPDATE outbox SET parked_at = NULL, attempts = 0, last_error = NULL, claimed_by = NULL, claimed_until = NULL
          WHERE id = ? AND parked_at IS NOT NULL AND published_at IS NULL`,
        [id],
      );
      return result.affectedRows > 0;
    },
    async purgePublished(olderThan) {
      const [result] = await pool.query<mysql.ResultSetHeader>('DELETE FROM outbox WHERE published_at < ?', [olderThan]);
      return result.affectedRows;
    },
    async backlog() {
      const connection = await connect(pool);
      try {
        const [rows] = await connection.query<RowDataPacket[]>(
          `SELECT COUNT(*) AS pending, COUNT(parked_at) AS parked, MIN(created_at) AS oldest
             FROM outbox WHERE published_at IS NULL`,
        );
        const { pending, parked, oldest } = rows[0] as { pending: number; parked: number; oldest: Date | null };
        return { pending: Number(pending), parked: Number(parked), oldestPendingAt: oldest ? new Date(oldest).toISOString() : null };
      } catch (error) {
        if (UNAVAILABLE_CODES.has((error as { code?: string }).code ?? '')) throw new DependencyUnavailableError('database', error);
        throw error;
      } finally {
        connection.release();
      }
    },
  };
}

async function inConnectionTransaction<T>(connection: mysql.PoolConnection, fn: () => Promise<T>): Promise<T> {
  await connection.beginTransaction();
  try {
    const result = await fn();
    await connection.commit();
    return result;
  } catch (error) {
    await connection.rollback().catch(() => undefined);
    throw error;
  }
}

/** Opener for startService: pool from the secret's URL, platform + service migrations applied. */
export function mysqlDatabase(serviceMigrations: Migration[]) {
  return async (url: string, logger?: Parameters<typeof migrate>[2]) => {
    const pool = createMysqlPool(url);
    await migrateMysql(pool, serviceMigrations, logger);
    return { db: pool, check: () => pool.query('SELECT 1'), close: () => pool.end(), outbox: mysqlOutboxStore(pool) };
  };
}
