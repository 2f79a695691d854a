import { z } from 'zod';
import { SPECIALIZATIONS, type NameCriterion, type PersonName } from '@caregrid/contracts';
import { ConflictError, decodeCursor, likeLiteral, likePrefix, NotFoundError, toPage, uuidv7, type Page } from '@caregrid/platform';
import { enqueueMysqlEvent, inMysqlTransaction, type Pool, type PoolConnection } from '@caregrid/platform/mysql';
import type { RowDataPacket } from 'mysql2/promise';
import { assertVersion, type Doctor, type DoctorRecord } from '../domain/doctor.js';
import { doctorEvent, type DoctorEventKind } from '../events/doctor-events.js';

const COLUMNS = `id, name, family, given, email, phone, specialization, license_number, years_of_experience, hospital_name, department,
  accepting, working_hours, slot_minutes, time_zone, fees, currency, version, created_at, updated_at`;

// MariaDB hands JSON columns back as text, MySQL as values.
const json = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value);

const toDoctor = (row: RowDataPacket): Doctor => ({
  id: row.id,
  name: row.name,
  family: row.family,
  given: json(row.given),
  email: row.email,
  phone: row.phone,
  specialization: row.specialization,
  licenseNumber: row.license_number,
  yearsOfExperience: row.years_of_experience,
  hospitalName: row.hospital_name,
  department: row.department,
  accepting: Boolean(row.accepting),
  workingHours: json(row.working_hours),
  slotMinutes: row.slot_minutes,
  timeZone: row.time_zone,
  fees: json(row.fees),
  currency: row.currency,
  version: row.version,
  createdAt: (row.created_at as Date).toISOString(),
  updatedAt: (row.updated_at as Date).toISOString(),
});

const cursorSchema = z.tuple([z.string(), z.uuid()]);

function uniqueViolation(error: unknown): never {
  const mysqlError = error as { code?: string; message?: string };
  if (mysqlError.code === 'ER_DUP_ENTRY') {
    const field = mysqlError.message?.includes('doctors_license_live') ? 'licenseNumber' : 'email';
    throw new ConflictError(`another doctor has this ${field === 'email' ? 'email' : 'license number'}`, { field });
  }
  throw error;
}

export type DoctorFilter = {
  /** One doctor (a PractitionerRole search by practitioner). */
  id?: string;
  /** The start of the name or of any word of it, or (with `searchEmail`) also of the email address. */
  q?: string;
  /** FHIR name criteria (name, family, given; start, exact, contains), all to hold. */
  names?: NameCriterion[];
  /** Whether `q` also matches email addresses (only for callers who may read them: see searchTextScope). */
  searchEmail?: boolean;
  specialization?: (typeof SPECIALIZATIONS)[number];
  accepting?: boolean;
  limit: number;
  cursor?: string;
};

/** Doctors whose name has a word (of `part`, or any) matching the LIKE pattern: the words' index (migration 005). */
const withWord = (part?: 'given' | 'family') =>
  `id IN (SELECT doctor_id FROM doctor_name_words WHERE word LIKE ?${part ? ` AND part = '${part}'` : ''})`;

const isOneWord = (value: string) => !/\s/.test(value);

/**
 * One name criterion as SQL and its parameters. The words table and the columns compare in
 * utf8mb4_unicode_ci, which ignores case and accents; exact compares as written (utf8mb4_bin, and
 * JSON strings compare as bytes), with the words' index first when the value is one word.
 */
function nameCondition({ part, match, value }: NameCriterion): { sql: string; params: unknown[] } {
  const words = part === 'name' ? undefined : part;
  if (match === 'exact') {
    const family = 'family COLLATE utf8mb4_bin = ?';
    const given = 'JSON_CONTAINS(given, JSON_QUOTE(?))';
    const written =
      part === 'family'
        ? { sql: family, params: [value] }
        : part === 'given'
          ? { sql: given, params: [value] }
          : { sql: `(${family} OR ${given} OR name COLLATE utf8mb4_bin = ?)`, params: [value, value, value] };
    if (!isOneWord(value)) return written;
    return { sql: `(${withWord(words)} AND ${written.sql})`, params: [likeLiteral(value), ...written.params] };
  }
  if (match === 'contains') {
    const anywhere = `%${likeLiteral(value)}%`;
    return part === 'given' ? { sql: withWord('given'), params: [anywhere] } : { sql: `${part} LIKE ?`, params: [anywhere] };
  }
  const start = `${likeLiteral(value)}%`;
  if (isOneWord(value)) return { sql: withWord(words), params: [start] };
  // Several words ("van der", "Ann Mar"): the start of the family name, or of the display name (given names first).
  return { sql: `${part === 'family' ? 'family' : 'name'} LIKE ?`, params: [start] };
}

/** The WHERE of a doctor search (without the keyset). */
function conditionsOf(filter: Omit<DoctorFilter, 'limit' | 'cursor'>): { conditions: string[]; params: unknown[] } {
  const conditions = ['deleted_at IS NULL'];
  const params: unknown[] = [];
  if (filter.id) {
    conditions.push('id = ?');
    params.push(filter.id);
  }
  if (filter.q) {
    // One word: the start of any word of the name; several: the start of the display name.
    const byName = isOneWord(filter.q) ? withWord() : 'name LIKE ?';
    conditions.push(filter.searchEmail ? `(${byName} OR email LIKE ?)` : byName);
    params.push(likePrefix(filter.q), ...(filter.searchEmail ? [likePrefix(filter.q)] : []));
  }
  for (const criterion of filter.names ?? []) {
    const condition = nameCondition(criterion);
    conditions.push(condition.sql);
    params.push(...condition.params);
  }
  if (filter.specialization) {
    conditions.push('specialization = ?');
    params.push(filter.specialization);
  }
  if (filter.accepting !== undefined) {
    conditions.push('accepting = ?');
    params.push(filter.accepting);
  }
  return { conditions, params };
}

/** The statement of a search page (exported so that a test can EXPLAIN what the service runs). */
export function listQuery(filter: DoctorFilter): { sql: string; params: unknown[] } {
  const { conditions, params } = conditionsOf(filter);
  if (filter.cursor) {
    const [name, id] = decodeCursor(filter.cursor, cursorSchema);
    conditions.push('(name > ? OR (name = ? AND id > ?))');
    params.push(name, name, id);
  }
  return {
    sql: `SELECT ${COLUMNS} FROM doctors WHERE ${conditions.join(' AND ')} ORDER BY name, id LIMIT ?`,
    params: [...params, filter.limit + 1],
  };
}

/** The words of a name as doctor_name_words holds them: the given names', then the family name's. */
function nameWords({ given, family }: PersonName): { position: number; part: 'given' | 'family'; word: string }[] {
  const words = [
    ...given.flatMap((name) => name.split(/\s+/).map((word) => ({ part: 'given' as const, word }))),
    ...family.split(/\s+/).map((word) => ({ part: 'family' as const, word })),
  ];
  return words.filter(({ word }) => word !== '').map((word, position) => ({ position, ...word }));
}

/** Doctors in MySQL; each change and its event commit together (outbox). */
export class DoctorRepository {
  constructor(
    private readonly pool: Pool,
    private readonly onEventsQueued: () => void = () => undefined,
  ) {}

  async create(record: DoctorRecord): Promise<Doctor> {
    const id = uuidv7();
    const doctor = await inMysqlTransaction(this.pool, async (connection) => {
      await connection
        .execute(
          `INSERT INTO doctors (id, name, family, given, email, phone, specialization, license_number, years_of_experience,
                                hospital_name, department, accepting, working_hours, slot_minutes, time_zone, fees, currency)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [id, ...this.values(record)],
        )
        .catch(uniqueViolation);
      await this.writeNameWords(connection, id, record);
      return this.withEvent(connection, 'created', await this.read(connection, id));
    });
    this.onEventsQueued();
    return doctor;
  }

  async get(id: string): Promise<Doctor> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(`SELECT ${COLUMNS} FROM doctors WHERE id = ? AND deleted_at IS NULL`, [id]);
    if (!rows[0]) throw new NotFoundError('doctor', id);
    return toDoctor(rows[0]);
  }

  /** Applies `change` to the current doctor under a row lock, checking the version the caller read. */
  async update(id: string, expectedVersion: number | undefined, change: (current: Doctor) => DoctorRecord): Promise<Doctor> {
    const doctor = await inMysqlTransaction(this.pool, async (connection) => {
      const current = await this.read(connection, id, true);
      assertVersion(current, expectedVersion);
      const record = change(current);
      await connection
        .execute(
          `UPDATE doctors SET name = ?, family = ?, given = ?, email = ?, phone = ?, specialization = ?, license_number = ?,
                  years_of_experience = ?, hospital_name = ?, department = ?, accepting = ?, working_hours = ?, slot_minutes = ?,
                  time_zone = ?, fees = ?, currency = ?, version = version + 1, updated_at = CURRENT_TIMESTAMP(3)
            WHERE id = ?`,
          [...this.values(record), id],
        )
        .catch(uniqueViolation);
      await this.writeNameWords(connection, id, record, current);
      return this.withEvent(connection, 'updated', await this.read(connection, id));
    });
    this.onEventsQueued();
    return doctor;
  }

  async delete(id: string, expectedVersion: number | undefined): Promise<void> {
    await inMysqlTransaction(this.pool, async (connection) => {
      const current = await this.read(connection, id, true);
      assertVersion(current, expectedVersion);
      await connection.execute('UPDATE doctors SET deleted_at = CURRENT_TIMESTAMP(3), version = version + 1 WHERE id = ?', [id]);
      // At the version the deletion gave it (the statement above): no older event outranks it downstream.
      await this.withEvent(connection, 'deleted', { ...current, version: current.version + 1 });
    });
    this.onEventsQueued();
  }

  /** Filters plus name (or name/email) prefix search, name order, keyset pagination. */
  async list(filter: DoctorFilter): Promise<Page<Doctor>> {
    const { sql, params } = listQuery(filter);
    const [rows] = await this.pool.query<RowDataPacket[]>(sql, params);
    return toPage(rows, filter.limit, toDoctor, (row) => [row.name, row.id]);
  }

  /** How many doctors `list` finds under the same filters, over all its pages. */
  async count(filter: Omit<DoctorFilter, 'limit' | 'cursor'>): Promise<number> {
    const { conditions, params } = conditionsOf(filter);
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT count(*) AS n FROM doctors WHERE ${conditions.join(' AND ')}`, params);
    return Number(rows[0]!.n);
  }

  private async read(connection: PoolConnection, id: string, forUpdate = false): Promise<Doctor> {
    const [rows] = await connection.execute<RowDataPacket[]>(
      `SELECT ${COLUMNS} FROM doctors WHERE id = ? AND deleted_at IS NULL${forUpdate ? ' FOR UPDATE' : ''}`,
      [id],
    );
    if (!rows[0]) throw new NotFoundError('doctor', id);
    return toDoctor(rows[0]);
  }

  /**
   * The words of the doctor's name, over those of `previous` (an update): rows are overwritten by their
   * key and only surplus ones deleted, so that concurrent writes of other doctors never wait on a range.
   */
  private async writeNameWords(connection: PoolConnection, id: string, name: PersonName, previous?: PersonName): Promise<void> {
    const words = nameWords(name);
    await connection.query(
      'INSERT INTO doctor_name_words (doctor_id, position, part, word) VALUES ? ON DUPLICATE KEY UPDATE part = VALUES(part), word = VALUES(word)',
      [words.map(({ position, part, word }) => [id, position, part, word])],
    );
    if (previous && nameWords(previous).length > words.length) {
      await connection.execute('DELETE FROM doctor_name_words WHERE doctor_id = ? AND position >= ?', [id, words.length]);
    }
  }

  private values(record: DoctorRecord) {
    return [
      record.name,
      record.family,
      JSON.stringify(record.given),
      record.email,
      record.phone,
      record.specialization,
      record.licenseNumber,
      record.yearsOfExperience,
      record.hospitalName,
      record.department,
      record.accepting,
      JSON.stringify(record.workingHours),
      record.slotMinutes,
      record.timeZone,
      JSON.stringify(record.fees),
      record.currency,
    ];
  }

  private async withEvent(connection: PoolConnection, kind: DoctorEventKind, doctor: Doctor): Promise<Doctor> {
    await enqueueMysqlEvent(connection, doctorEvent(kind, doctor));
    return doctor;
  }
}
