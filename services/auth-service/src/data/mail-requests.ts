import type { AccountMailPurpose } from '@caregrid/contracts';
import { uuidv7 } from '@caregrid/platform';
import type { PoolClient } from '@caregrid/platform/postgres';
import type { MailRequestState } from '../domain/account-mail.js';
import { hashOpaqueToken } from '../domain/tokens.js';

export type MailRequest = MailRequestState & { id: string; userId: string; purpose: AccountMailPurpose; createdAt: Date };

type Row = {
  id: string;
  user_id: string;
  purpose: AccountMailPurpose;
  expires_at: Date;
  used_at: Date | null;
  superseded_at: Date | null;
  created_at: Date;
};

const COLUMNS = 'id, user_id, purpose, expires_at, used_at, superseded_at, created_at';

const toRequest = (row: Row): MailRequest => ({
  id: row.id,
  userId: row.user_id,
  purpose: row.purpose,
  expiresAt: row.expires_at,
  usedAt: row.used_at,
  supersededAt: row.superseded_at,
  createdAt: row.created_at,
});

/** Account mail requests; their tokens are stored only as hashes. Every method runs in the caller's transaction. */
export class MailRequests {
  /** The newest request of this purpose for the account, whatever its state. */
  async latest(client: PoolClient, userId: string, purpose: AccountMailPurpose): Promise<MailRequest | undefined> {
    const { rows } = await client.query<Row>(
      `SELECT ${COLUMNS} FROM account_mail_requests WHERE user_id = $1 AND purpose = $2 ORDER BY created_at DESC LIMIT 1`,
      [userId, purpose],
    );
    return rows[0] && toRequest(rows[0]);
  }

  /** A new request, superseding the account's earlier ones of the same purpose (their links stop working). */
  async create(client: PoolClient, userId: string, purpose: AccountMailPurpose, lifetimeSeconds: number): Promise<MailRequest> {
    await client.query(
      `UPDATE account_mail_requests SET superseded_at = now()
        WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL AND superseded_at IS NULL`,
      [userId, purpose],
    );
    const { rows } = await client.query<Row>(
      `INSERT INTO account_mail_requests (id, user_id, purpose, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4)) RETURNING ${COLUMNS}`,
      [uuidv7(), userId, purpose, lifetimeSeconds],
    );
    return toRequest(rows[0]!);
  }

  async lock(client: PoolClient, id: string): Promise<MailRequest | undefined> {
    const { rows } = await client.query<Row>(`SELECT ${COLUMNS} FROM account_mail_requests WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0] && toRequest(rows[0]);
  }

  /** The request a token was minted for (its latest token only), locked. */
  async lockByToken(client: PoolClient, token: string): Promise<MailRequest | undefined> {
    const { rows } = await client.query<Row>(`SELECT ${COLUMNS} FROM account_mail_requests WHERE token_hash = $1 FOR UPDATE`, [
      hashOpaqueToken(token),
    ]);
    return rows[0] && toRequest(rows[0]);
  }

  /** Stores a newly minted token's hash in place of the previous one. */
  async setToken(client: PoolClient, id: string, token: string): Promise<void> {
    await client.query('UPDATE account_mail_requests SET token_hash = $2 WHERE id = $1', [id, hashOpaqueToken(token)]);
  }

  async markUsed(client: PoolClient, id: string): Promise<void> {
    await client.query('UPDATE account_mail_requests SET used_at = now() WHERE id = $1', [id]);
  }
}
