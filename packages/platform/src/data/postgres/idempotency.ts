import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { atomicStatement, HeldTransaction } from './transactions.js';
import {
  IDEMPOTENCY_LEASE_MS,
  IDEMPOTENCY_TTL_MS,
  type IdempotencyClaim,
  type IdempotencyStore,
  type StoredAnswer,
} from '../../http/idempotency.js';

type IdempotencyRow = {
  request_hash: string;
  status: number | null;
  headers: Record<string, string> | null;
  body: Buffer | null;
  audit: StoredAnswer['audit'] | null;
};

/**
 * Idempotency-Keys and their answers in the service's own database (see http/idempotency.ts).
 * A claim is one statement: a new key is inserted as owned by this request for `leaseMs`; an
 * expired key, or one whose owner died before answering (its lease ran out, and its writes,
 * held with the answer, were never committed), is taken over; any other is left to be read.
 *
 * Purged as keys are claimed: each claim deletes up to 20 expired keys in the same statement
 * (no extra round trip, no scheduler in every service that takes keys), so the table holds about
 * one TTL's worth of keys. An expired key is never answered from, even before it is purged.
 */
export function pgIdempotencyStore(pool: pg.Pool, options: { ttlMs?: number; leaseMs?: number } = {}): IdempotencyStore {
  const ttlMs = options.ttlMs ?? IDEMPOTENCY_TTL_MS;
  const leaseMs = options.leaseMs ?? IDEMPOTENCY_LEASE_MS;
  const claimOf = (scope: { caller: string; route: string; key: string }, owner: string): IdempotencyClaim => {
    const writes = new HeldTransaction(pool);
    const where = 'caller = $1 AND route = $2 AND key = $3 AND owner = $4';
    const keyValues = [scope.caller, scope.route, scope.key, owner];
    return {
      writes,
      async complete(answer) {
        const text = `UPDATE idempotency_keys SET status = $5, headers = $6, body = $7, audit = $8, owner = NULL, locked_until = NULL
                       WHERE ${where}`;
        const values = [...keyValues, answer.status, JSON.stringify(answer.headers), answer.body, JSON.stringify(answer.audit ?? null)];
        // Whatever the request wrote commits with its answer, or not at all (the key was taken over).
        if (writes.open) {
          const stored = await writes.commitWith(text, values);
          return { stored, committedWrites: stored };
        }
        const { rowCount } = await atomicStatement(pool, text, values);
        return { stored: Boolean(rowCount), committedWrites: false };
      },
      async abandon() {
        await writes.rollback();
        await atomicStatement(pool, `DELETE FROM idempotency_keys WHERE ${where}`, keyValues);
      },
    };
  };
  return {
    async claim(scope, fingerprint) {
      const owner = randomUUID();
      const { rows } = await atomicStatement(
        pool,
        `WITH purged AS (
           DELETE FROM idempotency_keys WHERE (caller, route, key) IN (
             SELECT caller, route, key FROM idempotency_keys
              WHERE expires_at < now() AND (caller, route, key) <> ($1, $2, $3)
              ORDER BY expires_at LIMIT 20 FOR UPDATE SKIP LOCKED))
         INSERT INTO idempotency_keys AS k (caller, route, key, request_hash, owner, locked_until, expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 millisecond', now() + $7 * interval '1 millisecond')
         ON CONFLICT (caller, route, key) DO UPDATE
           SET request_hash = EXCLUDED.request_hash, owner = EXCLUDED.owner, locked_until = EXCLUDED.locked_until,
               expires_at = EXCLUDED.expires_at, created_at = now(), status = NULL, headers = NULL, body = NULL, audit = NULL
         WHERE k.expires_at < now() OR (k.status IS NULL AND k.locked_until < now())
         RETURNING owner`,
        [scope.caller, scope.route, scope.key, fingerprint, owner, leaseMs, ttlMs],
      );
      if (rows.length > 0) return { outcome: 'claimed', claim: claimOf(scope, owner) };
      const { rows: found } = await atomicStatement<IdempotencyRow>(
        pool,
        `SELECT request_hash, status, headers, body, audit FROM idempotency_keys
          WHERE caller = $1 AND route = $2 AND key = $3 AND expires_at >= now()`,
        [scope.caller, scope.route, scope.key],
      );
      const row = found[0];
      // Gone since the claim: its request failed (5xx) and let the key go; the next claim takes it.
      if (!row) return { outcome: 'in-flight' };
      if (row.request_hash !== fingerprint) return { outcome: 'mismatch' };
      if (row.status === null) return { outcome: 'in-flight' };
      return {
        outcome: 'answered',
        answer: { status: row.status, headers: row.headers ?? {}, body: row.body ?? Buffer.alloc(0), audit: row.audit ?? undefined },
      };
    },
  };
}
