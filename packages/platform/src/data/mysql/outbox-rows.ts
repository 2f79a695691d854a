import mysql, { type RowDataPacket } from 'mysql2/promise';
import type { AuditEntry } from '@caregrid/contracts';
import { chainEntries } from '../../audit/chain.js';
import { currentContext } from '../../context.js';
import { auditRowsByChain, outboxRowValues, serializedEventData, type OutboxEvent } from '../outbox.js';

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
