import pg from 'pg';
import { appendToOutbox } from './outbox-writes.js';
import { atomicStatement, inTransaction } from './transactions.js';
import { toPage } from '../../pagination.js';
import { claimedEventOfRow, parkedEventOfRow, type OutboxRow, type OutboxStore } from '../outbox.js';

export function pgOutboxStore(pool: pg.Pool): OutboxStore {
  return {
    append: (event) => appendToOutbox(pool, [event]),
    appendMany: (events) => appendToOutbox(pool, events),
    claim: (relayId, limit, leaseMs) =>
      inTransaction(pool, async (client) => {
        // One claimer at a time (released at commit): two relays must not both see a subject's
        // head as free. Publishing happens after this transaction, without it.
        await client.query("SELECT pg_advisory_xact_lock(hashtext('caregrid.outbox.claim'))");
        const { rows } = await client.query<OutboxRow>(
          `WITH candidates AS (
             SELECT o.id FROM outbox o
              WHERE o.published_at IS NULL AND o.parked_at IS NULL
                AND (o.claimed_until IS NULL OR o.claimed_until < now() OR o.claimed_by = $1)
                AND NOT EXISTS (
                  SELECT 1 FROM outbox e
                   WHERE e.topic = o.topic AND e.subject = o.subject AND e.published_at IS NULL
                     AND (e.created_at, e.id) < (o.created_at, o.id)
                     AND (e.parked_at IS NOT NULL OR (e.claimed_by <> $1 AND e.claimed_until >= now())))
              ORDER BY o.created_at, o.id LIMIT $2),
           claimed AS (
             UPDATE outbox SET claimed_by = $1, claimed_until = now() + $3 * interval '1 millisecond'
              WHERE id IN (SELECT id FROM candidates)
              RETURNING id, topic, type, subject, data, created_at, attempts, traceparent)
           SELECT * FROM claimed ORDER BY created_at, id`,
          [relayId, limit, leaseMs],
        );
        return rows.map(claimedEventOfRow);
      }),
    async markPublished(ids) {
      await pool.query(
        'UPDATE outbox SET published_at = now(), claimed_by = NULL, claimed_until = NULL WHERE id = ANY($1::uuid[]) AND published_at IS NULL',
        [ids],
      );
    },
    async recordFailure(id, error, maxAttempts) {
      const { rows } = await pool.query<{ parked: boolean }>(
        `UPDATE outbox SET attempts = attempts + 1, last_error = $2, claimed_by = NULL, claimed_until = NULL,
                parked_at = CASE WHEN attempts + 1 >= $3 THEN now() END
          WHERE id = $1 AND published_at IS NULL RETURNING parked_at IS NOT NULL AS parked`,
        [id, error, maxAttempts],
      );
      return { parked: rows[0]?.parked ?? false };
    },
    async release(relayId) {
      await pool.query('UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = $1 AND published_at IS NULL', [
        relayId,
      ]);
    },
    async listParked({ limit, after }) {
      const { rows } = await pool.query<{
        id: string;
        topic: string;
        type: string;
        subject: string;
        attempts: number;
        last_error: string | null;
        created_at: Date;
        parked_at: Date;
        held: number;
      }>(
        `SELECT p.id, p.topic, p.type, p.subject, p.attempts, p.last_error, p.created_at, p.parked_at,
                (SELECT count(*)::int FROM outbox h
                  WHERE h.topic = p.topic AND h.subject = p.subject AND h.published_at IS NULL
                    AND (h.created_at, h.id) > (p.created_at, p.id)) AS held
           FROM outbox p
          WHERE p.parked_at IS NOT NULL AND p.published_at IS NULL AND ($2::uuid IS NULL OR p.id > $2::uuid)
          ORDER BY p.id LIMIT $1`,
        [limit + 1, after ?? null],
      );
      return toPage(rows, limit, parkedEventOfRow, (r) => [r.id]);
    },
    async redrive(id) {
      const result = await pool.query(
        `UPDATE outbox SET parked_at = NULL, attempts = 0, last_error = NULL, claimed_by = NULL, claimed_until = NULL
          WHERE id = $1 AND parked_at IS NOT NULL AND published_at IS NULL`,
        [id],
      );
      return (result.rowCount ?? 0) > 0;
    },
    async purgePublished(olderThan) {
      const result = await pool.query('DELETE FROM outbox WHERE published_at < $1', [olderThan]);
      return result.rowCount ?? 0;
    },
    async backlog() {
      // The partial index outbox_pending holds exactly these rows.
      const { rows } = await atomicStatement<{ pending: number; parked: number; oldest: Date | null }>(
        pool,
        `SELECT count(*)::int AS pending, count(parked_at)::int AS parked, min(created_at) AS oldest
           FROM outbox WHERE published_at IS NULL`,
        [],
      );
      const { pending, parked, oldest } = rows[0]!;
      return { pending, parked, oldestPendingAt: oldest?.toISOString() ?? null };
    },
  };
}
