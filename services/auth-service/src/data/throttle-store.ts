import type { Pool, PoolClient } from '@caregrid/platform/postgres';
import { recordFailure, type FailureCounter, type ThrottlePolicy } from '../domain/throttle.js';

export class ThrottleStore {
  constructor(private readonly pool: Pool) {}

  async read(keys: string[]): Promise<Map<string, FailureCounter>> {
    const { rows } = await this.pool.query<{ key: string; failures: number; window_start: Date; locked_until: Date | null }>(
      'SELECT key, failures, window_start, locked_until FROM login_throttle WHERE key = ANY($1)',
      [keys],
    );
    return new Map(rows.map((r) => [r.key, { failures: r.failures, windowStart: r.window_start, lockedUntil: r.locked_until }]));
  }

  /** Counts one failure against `key` (row-locked so concurrent failures all count). */
  async fail(client: PoolClient, key: string, policy: ThrottlePolicy, now: Date): Promise<void> {
    // Create the row first, so concurrent first failures queue on its lock instead of both counting from zero.
    await client.query('INSERT INTO login_throttle (key, failures, window_start) VALUES ($1, 0, $2) ON CONFLICT (key) DO NOTHING', [
      key,
      now,
    ]);
    const { rows } = await client.query<{ failures: number; window_start: Date; locked_until: Date | null }>(
      'SELECT failures, window_start, locked_until FROM login_throttle WHERE key = $1 FOR UPDATE',
      [key],
    );
    const row = rows[0]!;
    const next = recordFailure({ failures: row.failures, windowStart: row.window_start, lockedUntil: row.locked_until }, policy, now);
    await client.query('UPDATE login_throttle SET failures = $2, window_start = $3, locked_until = $4 WHERE key = $1', [
      key,
      next.failures,
      next.windowStart,
      next.lockedUntil,
    ]);
  }

  async clear(key: string): Promise<void> {
    await this.pool.query('DELETE FROM login_throttle WHERE key = $1', [key]);
  }
}
