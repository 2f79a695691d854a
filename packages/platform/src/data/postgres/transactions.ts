import pg from 'pg';
import { enqueueAuditEntries } from './outbox-rows.js';
import { DependencyUnavailableError } from '../../errors.js';
import { auditEntryForWrite } from '../../audit/trail.js';
import { currentContext } from '../../context.js';
import { endSpan, startStatementSpan, tracingEnabled } from '../../tracing.js';
import { pgConnectionConfig } from '../tls.js';

// Dates come back as ISO strings in the API anyway; DATE columns stay 'YYYY-MM-DD' instead of local midnight.
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);

/** A pool for the URL; TLS (`sslmode`, `sslrootcert`: a CA file) as in tls.ts. */
export function createPgPool(connectionString: string, options: { max?: number } = {}): pg.Pool {
  const pool = new pg.Pool({
    ...pgConnectionConfig(connectionString),
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  if (tracingEnabled()) pool.on('connect', traceQueries);
  return pool;
}

const TRANSACTION_CONTROL = /^\s*(BEGIN|COMMIT|ROLLBACK)\b/i;

/** A span per query made while serving a request (startStatementSpan; pool.query runs on a client too). */
function traceQueries(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const first = args[0] as string | { text?: string } | undefined;
    const text = typeof first === 'string' ? first : first?.text;
    const callback = args.some((arg) => typeof arg === 'function');
    const span = text && !callback ? startStatementSpan('postgresql', text, TRANSACTION_CONTROL) : undefined;
    if (!span) return query(...args);
    const result = query(...args) as Promise<unknown>;
    result.then(
      () => endSpan(span),
      (error: unknown) => endSpan(span, error),
    );
    return result;
  };
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '53300', '08006', '08001']);

/** A connection-level failure as a 503 (DependencyUnavailableError); any other error as it is. */
export const asUnavailable = (error: unknown) =>
  UNAVAILABLE_CODES.has((error as { code?: string }).code ?? '') ? new DependencyUnavailableError('database', error) : error;

/** A pooled connection; the database being unreachable is a 503, not a 500. */
export async function connect(pool: pg.Pool): Promise<pg.PoolClient> {
  try {
    return await pool.connect();
  } catch (error) {
    throw new DependencyUnavailableError('database', error);
  }
}

/**
 * The writes of one request held in one open transaction until its answer is stored beside them
 * (a route with `idempotent: true` and an Idempotency-Key, see http/idempotency.ts): the record,
 * its event and the key's answer commit together or not at all, so a crash can leave neither a
 * write without its key nor a key without its write. inTransaction and writeWithOutboxEvent run
 * in it when the request context holds one for their pool: the first write begins it, each later
 * one is a savepoint in it (a refused write leaves the earlier ones in place). It stays open only
 * from the first write to the answer.
 */
export class HeldTransaction {
  private client: pg.PoolClient | undefined;
  // One write at a time: savepoints of concurrent writes on one connection would interleave.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly pool: pg.Pool) {}

  /** Whether a write began it (and so something awaits commitWith or rollback). */
  get open(): boolean {
    return this.client !== undefined;
  }

  run<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const result = this.queue.then(() => this.runNow(fn));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async runNow<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const held = this.client;
    if (!held) {
      const client = await connect(this.pool);
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        this.client = client;
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        client.release();
        throw asUnavailable(error);
      }
    }
    try {
      await held.query('SAVEPOINT held_write');
      const result = await fn(held);
      await held.query('RELEASE SAVEPOINT held_write');
      return result;
    } catch (error) {
      await held.query('ROLLBACK TO SAVEPOINT held_write').catch(() => undefined);
      throw asUnavailable(error);
    }
  }

  /** Runs `text` (the answer's UPDATE) in the transaction and commits all when it changed a row; rolls all back when not. */
  async commitWith(text: string, values: unknown[]): Promise<boolean> {
    await this.queue;
    const client = this.client;
    this.client = undefined;
    if (!client) throw new Error('no write is held');
    try {
      const { rowCount } = await client.query(text, values);
      await client.query(rowCount ? 'COMMIT' : 'ROLLBACK');
      return Boolean(rowCount);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw asUnavailable(error);
    } finally {
      client.release();
    }
  }

  async rollback(): Promise<void> {
    await this.queue;
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

/**
 * inTransaction's writes held for an idempotent answer: the audit entry joins them, and commits
 * with them and the answer (a key taken over meanwhile rolls back all three).
 */
async function inHeldTransaction<T>(held: HeldTransaction, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const audit = auditEntryForWrite();
  try {
    const result = await held.run(async (client) => {
      const written = await fn(client);
      if (audit) await enqueueAuditEntries(client, [audit.row()]).catch(auditUnavailable);
      return written;
    });
    audit?.committed();
    return result;
  } catch (error) {
    audit?.failed();
    throw error;
  }
}

/** The current request's held transaction on this pool, if it has one. */
export function heldOn(pool: pg.Pool): HeldTransaction | undefined {
  const held = currentContext()?.heldWrites;
  return held instanceof HeldTransaction && held.pool === pool ? held : undefined;
}

/**
 * Runs `fn` in a transaction; connection-level failures surface as 503, not 500. In a request to
 * an audited write, the request's audit entry is added to the outbox last, in the same
 * transaction (auditEntryForWrite): the change and its entry commit together, or neither does.
 * Inside a request that holds its writes (HeldTransaction), in that transaction, entry included.
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const held = heldOn(pool);
  if (held) return inHeldTransaction(held, fn);
  const client = await connect(pool);
  const audit = auditEntryForWrite();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    if (audit) await enqueueAuditEntries(client, [audit.row()]).catch(auditUnavailable);
    await client.query('COMMIT');
    audit?.committed();
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    audit?.failed();
    throw asUnavailable(error);
  } finally {
    client.release();
  }
}

/** The audit entry of a write not going into the outbox: the change is not made, and the answer is a 503 (as for a read). */
export function auditUnavailable(error: unknown): never {
  throw new DependencyUnavailableError('audit trail', error);
}

/**
 * Runs `fn` on a connection of its own for state that lives as long as a session (a session-level
 * advisory lock, settings), and closes that connection afterwards instead of returning it to the
 * pool, so none of that state outlives `fn`. Connection-level failures are a 503, as in inTransaction.
 */
export async function withSession<T>(pool: pg.Pool, fn: (session: pg.PoolClient) => Promise<T>): Promise<T> {
  const session = await connect(pool);
  try {
    return await fn(session);
  } catch (error) {
    throw asUnavailable(error);
  } finally {
    session.release(true);
  }
}

/**
 * One statement outside any transaction block: atomic on its own (no BEGIN/COMMIT round trips);
 * as with inTransaction, the database being unreachable is a 503, not a 500.
 */
export async function atomicStatement<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  text: string,
  values: unknown[],
): Promise<pg.QueryResult<R>> {
  const client = await connect(pool);
  try {
    return await client.query<R>(text, values);
  } catch (error) {
    throw asUnavailable(error);
  } finally {
    client.release();
  }
}
