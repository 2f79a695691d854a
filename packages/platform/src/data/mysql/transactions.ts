import mysql from 'mysql2/promise';
import { enqueueMysqlAuditEntries } from './outbox-rows.js';
import { auditEntryForWrite } from '../../audit/trail.js';
import { endSpan, startStatementSpan, tracingEnabled } from '../../tracing.js';
import { DependencyUnavailableError } from '../../errors.js';
import { mysqlConnectionConfig } from '../tls.js';

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

export const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'PROTOCOL_CONNECTION_LOST', 'ER_CON_COUNT_ERROR']);

/** A pooled connection; the database being unreachable is a 503, not a 500. */
export async function connect(pool: mysql.Pool): Promise<mysql.PoolConnection> {
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

export async function inConnectionTransaction<T>(connection: mysql.PoolConnection, fn: () => Promise<T>): Promise<T> {
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
