import pg from 'pg';
import { enqueueAuditEntries, enqueueEvents } from './outbox-rows.js';
import { asUnavailable, atomicStatement, auditUnavailable, connect, heldOn } from './transactions.js';
import { auditEntryForWrite } from '../../audit/trail.js';
import { isAuditRow, outboxRowValues, type OutboxEvent } from '../outbox.js';

/**
 * A single-row write and its outbox event as one statement: `statement` (an INSERT or UPDATE …
 * RETURNING *) runs in a CTE, and the event is queued only for a row it wrote. One statement is
 * atomic on its own, so the pair needs no BEGIN/COMMIT: one round trip instead of four. The
 * event must be known before the write (built from the values written). In a request to an
 * audited write, the request's audit entry goes into the outbox too, for a row written only
 * (auditEntryForWrite): then the statement and the entry share a transaction, the entry taking its
 * place in the service's audit chain last (enqueueAuditEntries). Inside a request that holds its
 * writes (HeldTransaction), in that transaction.
 */
export async function writeWithOutboxEvent<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  statement: string,
  values: unknown[],
  event: Omit<OutboxEvent, 'time'>,
): Promise<R[]> {
  const $ = (n: number) => `$${values.length + n}`;
  const text = `WITH written AS (${statement}),
                     queued AS (INSERT INTO outbox (id, topic, type, subject, data, traceparent)
                                SELECT ${$(1)}, ${$(2)}, ${$(3)}, ${$(4)}, ${$(5)}, ${$(6)} FROM written LIMIT 1)
                SELECT * FROM written`;
  const allValues = [...values, ...outboxRowValues(event)];
  const audit = auditEntryForWrite();
  const held = heldOn(pool);
  if (!audit) {
    const { rows } = held ? await held.run((client) => client.query<R>(text, allValues)) : await atomicStatement<R>(pool, text, allValues);
    return rows;
  }
  // The request's audit entry joins the row written (none written, none queued), in one
  // transaction: its place in the chain is taken under the chain head's lock, after the write, as
  // inTransaction takes it.
  try {
    const writeThenAudit = async (client: pg.PoolClient) => {
      const { rows } = await client.query<R>(text, allValues);
      if (rows.length > 0) await enqueueAuditEntries(client, [audit.row()]).catch(auditUnavailable);
      return rows;
    };
    const written = held ? await held.run(writeThenAudit) : await inOwnTransaction(pool, writeThenAudit);
    // No row written, no entry with it: the entry is written after the handler, as for a refused write.
    if (written.length > 0) audit.committed();
    else audit.failed();
    return written;
  } catch (error) {
    audit.failed();
    throw error;
  }
}

/** A transaction of the platform's own (not the request's: no audit entry joins it); unreachable is a 503. */
async function inOwnTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await connect(pool);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw asUnavailable(error);
  } finally {
    client.release();
  }
}

/** Outbox rows outside a request's transaction: audit entries among them take their chain places in a transaction of their own. */
export async function appendToOutbox(pool: pg.Pool, events: Omit<OutboxEvent, 'time'>[]): Promise<void> {
  if (!events.some(isAuditRow)) return enqueueEvents(pool, events);
  await inOwnTransaction(pool, async (client) => {
    await enqueueEvents(
      client,
      events.filter((event) => !isAuditRow(event)),
    );
    await enqueueAuditEntries(client, events.filter(isAuditRow));
  });
}
