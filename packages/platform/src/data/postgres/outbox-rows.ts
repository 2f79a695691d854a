import pg from 'pg';
import type { AuditEntry } from '@caregrid/contracts';
import { chainEntries } from '../../audit/chain.js';
import { currentContext } from '../../context.js';
import { auditRowsByChain, outboxRowValues, serializedEventData, type OutboxEvent } from '../outbox.js';

/** Adds an event to the outbox inside the caller's transaction. */
export async function enqueueEvent(client: pg.PoolClient | pg.Pool, event: Omit<OutboxEvent, 'time'>): Promise<void> {
  await client.query(
    'INSERT INTO outbox (id, topic, type, subject, data, traceparent) VALUES ($1, $2, $3, $4, $5, $6)',
    outboxRowValues(event),
  );
}

/** Several outbox rows in one statement (one round trip, one commit). */
export async function enqueueEvents(client: pg.PoolClient | pg.Pool, events: Omit<OutboxEvent, 'time'>[]): Promise<void> {
  if (events.length === 0) return;
  const traceparent = currentContext()?.traceparent ?? null;
  await client.query(
    `INSERT INTO outbox (id, topic, type, subject, data, traceparent)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[])`,
    [
      events.map((e) => e.id),
      events.map((e) => e.topic),
      events.map((e) => e.type),
      events.map((e) => e.subject),
      events.map((e) => serializedEventData(e)),
      events.map((e) => e.traceparent ?? traceparent),
    ],
  );
}

/**
 * Queues audit entries in the caller's transaction, each linked onto its service's hash chain
 * (chainEntries): the chain head's row is created if need be and locked (INSERT … ON CONFLICT DO
 * UPDATE locks it, and returns the head as last committed) until the transaction ends, so
 * concurrent transactions, of any replica, take their numbers one after the other.
 */
export async function enqueueAuditEntries(client: pg.PoolClient, rows: Omit<OutboxEvent, 'time'>[]): Promise<void> {
  for (const [service, serviceRows] of auditRowsByChain(rows)) {
    const { rows: heads } = await client.query<{ seq: string; hash: string }>(
      `INSERT INTO audit_chain (service) VALUES ($1)
       ON CONFLICT (service) DO UPDATE SET service = EXCLUDED.service RETURNING seq, hash`,
      [service],
    );
    const chained = chainEntries(
      { seq: Number(heads[0]!.seq), hash: heads[0]!.hash },
      serviceRows.map((row) => row.data as AuditEntry),
    );
    await client.query('UPDATE audit_chain SET seq = $2, hash = $3 WHERE service = $1', [service, chained.head.seq, chained.head.hash]);
    await enqueueEvents(
      client,
      serviceRows.map((row, i) => ({ ...row, data: chained.entries[i] })),
    );
  }
}
