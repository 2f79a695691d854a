import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from '@caregrid/platform/postgres';
import { hashOpaqueToken, newOpaqueToken, REFRESH_TOKEN_SECONDS } from '../domain/tokens.js';

export type StoredRefreshToken = {
  familyId: string;
  userId: string;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
};

export class RefreshTokens {
  constructor(private readonly pool: Pool) {}

  /** Issues a token in `familyId` (a new family per sign-in); returns the token itself, stored only as a hash. */
  async issue(client: Pool | PoolClient, userId: string, familyId: string = randomUUID()): Promise<string> {
    const token = newOpaqueToken();
    await client.query(
      `INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
      [hashOpaqueToken(token), familyId, userId, REFRESH_TOKEN_SECONDS],
    );
    return token;
  }

  async lockForRotation(client: PoolClient, token: string): Promise<StoredRefreshToken | undefined> {
    const { rows } = await client.query<{
      family_id: string;
      user_id: string;
      expires_at: Date;
      used_at: Date | null;
      revoked_at: Date | null;
    }>('SELECT family_id, user_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE', [
      hashOpaqueToken(token),
    ]);
    const row = rows[0];
    return (
      row && { familyId: row.family_id, userId: row.user_id, expiresAt: row.expires_at, usedAt: row.used_at, revokedAt: row.revoked_at }
    );
  }

  async markUsed(client: PoolClient, token: string): Promise<void> {
    await client.query('UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1', [hashOpaqueToken(token)]);
  }

  async revokeFamily(client: Pool | PoolClient, familyId: string): Promise<void> {
    await client.query('UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL', [familyId]);
  }

  async revokeUser(client: Pool | PoolClient, userId: string): Promise<void> {
    await client.query('UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL', [userId]);
  }

  /** The family of a token, whatever its state (for logout). */
  async familyOf(token: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ family_id: string }>('SELECT family_id FROM refresh_tokens WHERE token_hash = $1', [
      hashOpaqueToken(token),
    ]);
    return rows[0]?.family_id;
  }
}
