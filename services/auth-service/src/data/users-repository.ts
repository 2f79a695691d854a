import { ConflictError, NotFoundError, uuidv7 } from '@caregrid/platform';
import type { Pool, PoolClient } from '@caregrid/platform/postgres';
import type { User } from '../domain/users.js';

type Row = {
  id: string;
  name: string;
  email: string;
  password_hash: string | null;
  roles: User['roles'];
  patient_id: string | null;
  doctor_id: string | null;
  disabled: boolean;
  email_verified: boolean;
  must_change_password: boolean;
  created_at: Date;
};

const COLUMNS = 'id, name, email, password_hash, roles, patient_id, doctor_id, disabled, email_verified, must_change_password, created_at';

export const toUser = (row: Row): User => ({
  id: row.id,
  name: row.name,
  email: row.email,
  roles: row.roles,
  patientId: row.patient_id,
  doctorId: row.doctor_id,
  disabled: row.disabled,
  emailVerified: row.email_verified,
  mustChangePassword: row.must_change_password,
  createdAt: row.created_at.toISOString(),
});

function uniqueViolation(error: unknown): never {
  const pgError = error as { code?: string; constraint?: string };
  if (pgError.code === '23505') {
    const field = { users_email: 'email', users_patient: 'patientId', users_doctor: 'doctorId' }[pgError.constraint ?? ''] ?? 'email';
    throw new ConflictError(`another account already has this ${field}`, { field });
  }
  throw error;
}

/** A new account; no password hash for an invited one (its owner sets it by the invitation's link). */
export type NewUser = Omit<User, 'id' | 'createdAt' | 'disabled'> & { passwordHash: string | null };

/** A new user's row: `INSERT_USER` with `newUserValues`, one statement for both ways of creating one. */
const INSERT_USER = `INSERT INTO users (id, name, email, password_hash, roles, patient_id, doctor_id, email_verified, must_change_password)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;
const newUserValues = (user: NewUser) => [
  uuidv7(),
  user.name,
  user.email,
  user.passwordHash,
  user.roles,
  user.patientId,
  user.doctorId,
  user.emailVerified,
  user.mustChangePassword,
];

export class UsersRepository {
  constructor(private readonly pool: Pool) {}

  async create(user: NewUser, client: Pool | PoolClient = this.pool): Promise<User> {
    const { rows } = await client.query<Row>(`${INSERT_USER} RETURNING ${COLUMNS}`, newUserValues(user)).catch(uniqueViolation);
    return toUser(rows[0]!);
  }

  /** Creates the user, or nothing (undefined) when the email already has an account. */
  async createUnlessEmailTaken(user: NewUser, client: Pool | PoolClient = this.pool): Promise<User | undefined> {
    const { rows } = await client
      .query<Row>(`${INSERT_USER} ON CONFLICT ((lower(email))) DO NOTHING RETURNING ${COLUMNS}`, newUserValues(user))
      .catch(uniqueViolation);
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  /** The user and the stored hash, for sign-in; undefined when no such email. */
  async findCredentials(email: string): Promise<{ user: User; passwordHash: string | undefined } | undefined> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM users WHERE lower(email) = lower($1)`, [email]);
    return rows[0] ? { user: toUser(rows[0]), passwordHash: rows[0].password_hash ?? undefined } : undefined;
  }

  /** The account, its row locked until the transaction ends (account mail: one request or redemption at a time). */
  async lock(client: PoolClient, id: string): Promise<User> {
    const { rows } = await client.query<Row>(`SELECT ${COLUMNS} FROM users WHERE id = $1 FOR UPDATE`, [id]);
    if (!rows[0]) throw new NotFoundError('user', id);
    return toUser(rows[0]);
  }

  /**
   * A new password its owner chose by a mailed or handed-over link (reset, invitation, recovery):
   * the link also proves the address, and nobody else knows the password.
   */
  async setPassword(client: PoolClient, id: string, passwordHash: string): Promise<void> {
    await client.query(
      'UPDATE users SET password_hash = $2, email_verified = true, must_change_password = false, updated_at = now() WHERE id = $1',
      [id, passwordHash],
    );
  }

  /** A password its owner chose, proving the current one (it proves no address): nobody else knows it now. */
  async changePassword(client: PoolClient, id: string, passwordHash: string): Promise<void> {
    await client.query('UPDATE users SET password_hash = $2, must_change_password = false, updated_at = now() WHERE id = $1', [
      id,
      passwordHash,
    ]);
  }

  async markEmailVerified(client: PoolClient, id: string): Promise<void> {
    await client.query('UPDATE users SET email_verified = true, updated_at = now() WHERE id = $1', [id]);
  }

  async get(id: string, client: Pool | PoolClient = this.pool): Promise<User> {
    const { rows } = await client.query<Row>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
    if (!rows[0]) throw new NotFoundError('user', id);
    return toUser(rows[0]);
  }

  async update(client: PoolClient, user: User): Promise<User> {
    const { rows } = await client
      .query<Row>(
        `UPDATE users SET roles = $2, patient_id = $3, doctor_id = $4, disabled = $5, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
        [user.id, user.roles, user.patientId, user.doctorId, user.disabled],
      )
      .catch(uniqueViolation);
    return toUser(rows[0]!);
  }

  /**
   * Locks the active admins' rows, in id order so that two changes queue instead of deadlocking,
   * and answers their ids. A change that waited sees the rows as the other committed them: an
   * admin the other disabled or demoted is no longer among them.
   */
  async lockActiveAdmins(client: PoolClient): Promise<string[]> {
    const { rows } = await client.query<{ id: string }>(
      "SELECT id FROM users WHERE 'admin' = ANY(roles) AND NOT disabled ORDER BY id FOR UPDATE",
    );
    return rows.map((row) => row.id);
  }

  /** No password works any more: its owner sets a new one by a link. */
  async clearPassword(client: PoolClient, id: string): Promise<void> {
    await client.query('UPDATE users SET password_hash = NULL, updated_at = now() WHERE id = $1', [id]);
  }

  async anyAdmin(): Promise<boolean> {
    const { rowCount } = await this.pool.query("SELECT 1 FROM users WHERE 'admin' = ANY(roles) AND NOT disabled LIMIT 1");
    return (rowCount ?? 0) > 0;
  }
}
