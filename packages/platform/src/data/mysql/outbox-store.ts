import mysql, { type RowDataPacket } from 'mysql2/promise';
import { enqueueMysqlAuditEntries, enqueueMysqlEvents } from './outbox-rows.js';
import { connect, inConnectionTransaction, UNAVAILABLE_CODES } from './transactions.js';
import { DependencyUnavailableError } from '../../errors.js';
import {
  claimedEventOfRow,
  isAuditRow,
  parkedEventOfRow,
  type OutboxEvent,
  type OutboxRow,
  type OutboxStore,
  type ParkedRow,
} from '../outbox.js';
import { toPage } from '../../pagination.js';

/** Outbox rows outside a request's transaction: audit entries among them take their chain places in a transaction of their own. */
export async function appendToMysqlOutbox(pool: mysql.Pool, events: Omit<OutboxEvent, 'time'>[]): Promise<void> {
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
            // MariaDB returns JSON columns as text; MySQL as parsed values.
            return rows.map((r) =>
              claimedEventOfRow({ ...(r as OutboxRow), data: typeof r.data === 'string' ? JSON.parse(r.data) : r.data }),
            );
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
        (r) => parkedEventOfRow(r as ParkedRow),
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
