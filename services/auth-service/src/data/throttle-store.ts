import { inTransaction, type Pool, type PoolClient } from '@caregrid/platform/postgres';
import { admitAttempt, releaseReservation, type Admission, type FailureCounter, type ThrottlePolicy } from '../domain/throttle.js';

type Row = { key: string; failures: number; window_start: Date; locked_until: Date | null };

const toCounter = (row: Row): FailureCounter => ({ failures: row.failures, windowStart: row.window_start, lockedUntil: row.locked_until });

export class ThrottleStore {
  constructor(private readonly pool: Pool) {}

  /**
   * Checks and reserves one attempt on every key in one transaction. The rows are
   * locked (created first if absent, always in key order so two attempts never
   * deadlock), so concurrent attempts are counted one after another and no more
   * than the limit get through.
   */
  async admit(keys: { key: string; policy: ThrottlePolicy }[], now: Date): Promise<Admission> {
    const sorted = [...keys].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const names = sorted.map((k) => k.key);
    return inTransaction(this.pool, async (client) => {
      await client.query(
        'INSERT INTO login_throttle (key, failures, window_start) SELECT key, 0, $2 FROM unnest($1::text[]) AS key ON CONFLICT (key) DO NOTHING',
        [names, now],
      );
      const { rows } = await client.query<Row>(
        'SELECT key, failures, window_start, locked_until FROM login_throttle WHERE key = ANY($1) ORDER BY key FOR UPDATE',
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

  /** Gives back one reserved attempt on `key` (a sign-in that succeeded). */
  async release(key: string, policy: ThrottlePolicy): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<Row>(
        'SELECT key, failures, window_start, locked_until FROM login_throttle WHERE key = $1 FOR UPDATE',
        [key],
      );
      if (rows[0]) await this.write(client, key, releaseReservation(toCounter(rows[0]), policy));
    });
  }

  async clear(key: string): Promise<void> {
    await this.pool.query('DELETE FROM login_throttle WHERE key = $1', [key]);
  }

  private async write(client: PoolClient, key: string, counter: FailureCounter): Promise<void> {
    await client.query('UPDATE login_throttle SET failures = $2, window_start = $3, locked_until = $4 WHERE key = $1', [
      key,
      counter.failures,
      counter.windowStart,
      counter.lockedUntil,
    ]);
  }
}
