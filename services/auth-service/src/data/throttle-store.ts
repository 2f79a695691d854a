import { inTransaction, type Pool, type PoolClient } from '@caregrid/platform/postgres';
import {
  admitAttempt,
  releaseReservation,
  takeToken,
  type Admission,
  type BucketPolicy,
  type FailureCounter,
  type ThrottlePolicy,
  type Withdrawal,
} from '../domain/throttle.js';

type Row = { key: string; failures: number; last_failure_at: Date; next_attempt_at: Date | null };

const toCounter = (row: Row): FailureCounter => ({
  failures: row.failures,
  lastFailureAt: row.last_failure_at,
  nextAttemptAt: row.next_attempt_at,
});

export class ThrottleStore {
  constructor(private readonly pool: Pool) {}

  /**
   * Checks and reserves one attempt on every key in one transaction. The rows are
   * locked (created first if absent, always in key order so two attempts never
   * deadlock), so concurrent attempts are counted one after another and none
   * passes while the wait an earlier one set still runs.
   */
  async admit(keys: { key: string; policy: ThrottlePolicy }[], now: Date): Promise<Admission> {
    const sorted = [...keys].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const names = sorted.map((k) => k.key);
    return inTransaction(this.pool, async (client) => {
      await client.query(
        'INSERT INTO login_throttle (key, failures, last_failure_at) SELECT key, 0, $2 FROM unnest($1::text[]) AS key ON CONFLICT (key) DO NOTHING',
        [names, now],
      );
      const { rows } = await client.query<Row>(
        'SELECT key, failures, last_failure_at, next_attempt_at FROM login_throttle WHERE key = ANY($1) ORDER BY key FOR UPDATE',
        [names],
      );
      const stored = new Map(rows.map((row) => [row.key, toCounter(row)]));
      const admission = admitAttempt(
        sorted.map((k) => ({ ...k, counter: stored.get(k.key) })),
        now,
      );
      if (admission.admitted) {
        for (const [key, counter] of admission.counters) await this.write(client, key, counter);
      }
      return admission;
    });
  }

  /** Gives back one reserved attempt on `key` (a sign-in that succeeded); `reserved` is the counter as it left it. */
  async release(key: string, reserved: FailureCounter): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<Row>(
        'SELECT key, failures, last_failure_at, next_attempt_at FROM login_throttle WHERE key = $1 FOR UPDATE',
        [key],
      );
      if (rows[0]) await this.write(client, key, releaseReservation(toCounter(rows[0]), reserved));
    });
  }

  async clear(key: string): Promise<void> {
    await this.pool.query('DELETE FROM login_throttle WHERE key = $1', [key]);
  }

  /** Takes one token from `key`'s bucket (row-locked, so concurrent requests take one each), or says how long to wait. */
  async take(key: string, policy: BucketPolicy, now: Date): Promise<Withdrawal> {
    return inTransaction(this.pool, async (client) => {
      // Created full when absent, then locked: two first requests cannot both start from a full bucket.
      await client.query('INSERT INTO address_buckets (key, tokens, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING', [
        key,
        policy.capacity,
        now,
      ]);
      const { rows } = await client.query<{ tokens: number; updated_at: Date }>(
        'SELECT tokens, updated_at FROM address_buckets WHERE key = $1 FOR UPDATE',
        [key],
      );
      const withdrawal = takeToken({ tokens: rows[0]!.tokens, updatedAt: rows[0]!.updated_at }, policy, now);
      if (withdrawal.taken) {
        await client.query('UPDATE address_buckets SET tokens = $2, updated_at = $3 WHERE key = $1', [
          key,
          withdrawal.bucket.tokens,
          withdrawal.bucket.updatedAt,
        ]);
      }
      return withdrawal;
    });
  }

  private async write(client: PoolClient, key: string, counter: FailureCounter): Promise<void> {
    await client.query('UPDATE login_throttle SET failures = $2, last_failure_at = $3, next_attempt_at = $4 WHERE key = $1', [
      key,
      counter.failures,
      counter.lastFailureAt,
      counter.nextAttemptAt,
    ]);
  }
}
