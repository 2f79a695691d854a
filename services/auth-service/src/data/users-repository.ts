import { ConflictError, NotFoundError, uuidv7 } from '@caregrid/platform';
import type { Pool, PoolClient } from '@caregrid/platform/postgres';
import type { User } from '../domain/users.js';

type Row = {
  id: string;
  name: string;
  email: string;
  password_hash: string;
  roles: User['roles'];
  patient_id: string | null;
  doctor_id: string | null;
  disabled: boolean;
  created_at: Date;
};

const COLUMNS = 'id, name, email, password_hash, roles, patient_id, doctor_id, disabled, created_at';

export const toUser = (row: Row): User => ({
  id: row.id,
  name: row.name,
  email: row.email,
  roles: row.roles,
  patientId: row.patient_id,
  doctorId: row.doctor_id,
  disabled: row.disabled,
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

export type NewUser = Omit<User, 'id' | 'createdAt' | 'disabled'> & { passwordHash: string };

export class UsersRepository {
  constructor(private readonly pool: Pool) {}

  async create(user: NewUser): Promise<User> {
    const { rows } = await this.pool
      .query<Row>(
        `INSERT INTO users (id, name, email, password_hash, roles, patient_id, doctor_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
        [uuidv7(), user.name, user.email, user.passwordHash, user.roles, user.patientId, user.doctorId],
      )
      .catch(uniqueViolation);
    return toUser(rows[0]!);
  }

  /** Creates the user, or nothing (undefined) when the email already has an account. */
  async createUnlessEmailTaken(user: NewUser): Promise<User | undefined> {
    const { rows } = await this.pool
      .query<Row>(
        `INSERT INTO users (id, name, email, password_hash, roles, patient_id, doctor_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT ((lower(email))) DO NOTHING RETURNING ${COLUMNS}`,
        [uuidv7(), user.name, user.email, user.passwordHash, user.roles, user.patientId, user.doctorId],
      )
      .catch(uniqueViolation);
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  /** The user and the stored hash, for sign-in; undefined when no such email. */
  async findCredentials(email: string): Promise<{ user: User; passwordHash: string } | undefined> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM users WHERE lower(email) = lower($1)`, [email]);
    return rows[0] ? { user: toUser(rows[0]), passwordHash: rows[0].password_hash } : undefined;
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

  async anyAdmin(): Promise<boolean> {
    const { rowCount } = await this.pool.query("SELECT 1 FROM users WHERE 'admin' = ANY(roles) AND NOT disabled LIMIT 1");
    return (rowCount ?? 0) > 0;
  }
}
