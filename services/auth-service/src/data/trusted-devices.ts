import type { Pool, PoolClient } from '@caregrid/platform/postgres';
import { DEVICE_TOKEN_SECONDS, hashOpaqueToken, newOpaqueToken } from '../domain/tokens.js';

/** Clients that signed in to an account before, known by the device token they were given then. */
export class TrustedDevices {
  constructor(private readonly pool: Pool) {}

  async issue(userId: string): Promise<string> {
    const token = newOpaqueToken();
    await this.pool.query(
      'INSERT INTO trusted_devices (token_hash, user_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))',
      [hashOpaqueToken(token), userId, DEVICE_TOKEN_SECONDS],
    );
    return token;
  }

  /** The token's own throttle key when it is a live token of the account with this email; otherwise undefined. */
  async keyFor(token: string, email: string): Promise<string | undefined> {
    const hash = hashOpaqueToken(token);
    const { rows } = await this.pool.query(
      `SELECT 1 FROM trusted_devices d JOIN users u ON u.id = d.user_id
        WHERE d.token_hash = $1 AND d.expires_at > now() AND lower(u.email) = lower($2) AND NOT u.disabled`,
      [hash, email],
    );
    return rows.length > 0 ? `device:${hash}` : undefined;
  }

  async touch(token: string): Promise<void> {
    await this.pool.query('UPDATE trusted_devices SET last_used_at = now() WHERE token_hash = $1', [hashOpaqueToken(token)]);
  }

  async revokeUser(client: Pool | PoolClient, userId: string): Promise<void> {
    await client.query('DELETE FROM trusted_devices WHERE user_id = $1', [userId]);
  }
}
