import { z } from 'zod';
import {
  ConflictError,
  decodeCursor,
  likeLiteral,
  likePrefix,
  NotFoundError,
  toPage,
  uuidv7,
  type Page,
  type Scope,
} from '@caregrid/platform';
import {
  atomicStatement,
  enqueueEvent,
  inTransaction,
  recordScope,
  scopeClause,
  type Pool,
  type PoolClient,
  type ScopeColumns,
} from '@caregrid/platform/postgres';
import type { NameCriterion } from '@caregrid/contracts';
import type { Patient, PatientRecord } from '../domain/patient.js';
import { patientEvent, type PatientEventKind } from '../events/patient-events.js';

type Row = {
  id: string;
  name: string;
  family: string;
  given: string[];
  email: string;
  phone: string | null;
  address: string | null;
  date_of_birth: string;
  gender: Patient['gender'];
  details: Patient['details'];
  user_id: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
  sort_name: string;
};

const COLUMNS = `id, name, family, given, email, phone, address, date_of_birth, gender, details, user_id, version, created_at, updated_at, lower(name) AS sort_name`;

const toPatient = (row: Row): Patient => ({
  id: row.id,
  name: row.name,
  family: row.family,
  given: row.given,
  email: row.email,
  phone: row.phone,
  address: row.address,
  dateOfBirth: row.date_of_birth,
  gender: row.gender,
  details: row.details,
  userId: row.user_id,
  version: row.version,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

const cursorSchema = z.tuple([z.string(), z.uuid()]);

function uniqueViolation(error: unknown): never {
  const pgError = error as { code?: string; constraint?: string };
  if (pgError.code === '23505' && pgError.constraint === 'patients_email_live') {
    throw new ConflictError('a patient with this email already exists', { field: 'email' });
  }
  if (pgError.code === '23505' && pgError.constraint === 'patients_user_live') {
    throw new ConflictError('this user account is already linked to a patient', { field: 'userId' });
  }
  throw error;
}

/**
 * What a patient search filters on: a name/email prefix (`q`: the start of any part of the name, or
 * of the email address), name criteria (FHIR's name, family, given), an identifier (our
 * id, or the insurance policy number; either when no system is named) and
 * birth dates (`bornFrom` inclusive, `bornBefore` exclusive, YYYY-MM-DD).
 */
export type PatientFilter = {
  q?: string;
  names?: NameCriterion[];
  identifier?: { system?: 'id' | 'insurance-policy'; value: string };
  bornFrom?: string;
  bornBefore?: string;
};

/**
 * One name criterion as SQL over `name_search` (" ann marie muller ", trigram-indexed: migration 004),
 * `param` placing a value. For family or given alone, the index finds the candidates and the part's
 * own key confirms them; exact compares as written.
 */
function nameCondition({ part, match, value: given }: NameCriterion, param: (value: string) => string): string {
  const escaped = param(likeLiteral(given));
  const pattern = {
    start: `'% ' || fold_name(${escaped}) || '%'`,
    contains: `'%' || fold_name(${escaped}) || '%'`,
    exact: `'% ' || fold_name(${escaped}) || ' %'`,
  }[match];
  const indexed = `name_search LIKE ${pattern}`;
  if (match === 'exact') {
    const value = param(given);
    const written = {
      name: `(family = ${value} OR ${value} = ANY(given) OR name = ${value})`,
      family: `family = ${value}`,
      given: `${value} = ANY(given)`,
    }[part];
    return `(${indexed} AND ${written})`;
  }
  if (part === 'name') return indexed;
  return `(${indexed} AND ${part === 'family' ? `name_search_key('{}', family)` : 'name_search_key(given, NULL)'} LIKE ${pattern})`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What a patient record's scope links are: the record itself, and the doctors in its care relation. */
export const PATIENT_SCOPE_COLUMNS: ScopeColumns = {
  patientId: 'id',
  careTeamOf: (doctors) => `id IN (SELECT patient_id FROM care_appointments WHERE doctor_id = ANY(${doctors}) AND state <> 'cancelled')`,
};
const SCOPE = recordScope('patient', PATIENT_SCOPE_COLUMNS);

/** The WHERE of a search within a scope; its parameters are numbered after the `offset` the caller uses. */
function whereOf(filter: PatientFilter, scope: Scope, offset: number): { sql: string; params: unknown[] } {
  const { identifier, names = [] } = filter;
  const byId = identifier && identifier.system !== 'insurance-policy' && UUID.test(identifier.value) ? identifier.value : null;
  const byPolicy = identifier && identifier.system !== 'id' ? identifier.value : null;
  const scoped = scopeClause(scope, SCOPE, offset + 1);
  const $ = (n: number) => `$${offset + scoped.params.length + n}`;
  // The name criteria's values, numbered after the fixed ones.
  const nameParams: string[] = [];
  const param = (value: string) => {
    nameParams.push(value);
    return `${$(7 + nameParams.length)}::text`;
  };
  const byName = names.map((criterion) => `\n      AND ${nameCondition(criterion, param)}`).join('');
  return {
    sql: `deleted_at IS NULL
      AND ${scoped.sql}
      AND (${$(1)}::text IS NULL OR name_search LIKE '% ' || fold_name(${$(7)}::text) || '%' OR lower(email) COLLATE "C" LIKE ${$(1)})
      AND (NOT ${$(2)}::boolean OR id = ${$(3)}::uuid OR details->'insurance'->>'policyNumber' = ${$(4)}::text)
      AND (${$(5)}::date IS NULL OR date_of_birth >= ${$(5)}::date)
      AND (${$(6)}::date IS NULL OR date_of_birth < ${$(6)}::date)${byName}`,
    params: [
      ...scoped.params,
      filter.q ? likePrefix(filter.q) : null,
      identifier !== undefined,
      byId,
      byPolicy,
      filter.bornFrom ?? null,
      filter.bornBefore ?? null,
      filter.q ? likeLiteral(filter.q) : null,
      ...nameParams,
    ],
  };
}

/** The statement of a search page (exported so that a test can EXPLAIN what the service runs). */
export function listQuery(options: PatientFilter & { limit: number; cursor?: string }, scope: Scope): { text: string; values: unknown[] } {
  const after = options.cursor ? decodeCursor(options.cursor, cursorSchema) : null;
  const where = whereOf(options, scope, 3);
  return {
    text: `SELECT ${COLUMNS} FROM patients
        WHERE ${where.sql}
          AND ($1::text IS NULL OR (lower(name) COLLATE "C", id) > ($1::text COLLATE "C", $2::uuid))
        ORDER BY lower(name) COLLATE "C", id
        LIMIT $3`,
    values: [after?.[0] ?? null, after?.[1] ?? null, options.limit + 1, ...where.params],
  };
}

/**
 * Patients in PostgreSQL. Every change and its event are written in one
 * transaction (outbox), so the record and what consumers hear never diverge.
 */
export class PatientRepository {
  constructor(
    private readonly pool: Pool,
    /** Called after a commit that queued events (wakes the outbox relay). */
    private readonly onEventsQueued: () => void = () => undefined,
  ) {}

  /** `id`: given by a caller that notes the access before the write (the audit entry commits with it). */
  async create(record: PatientRecord, id = uuidv7()): Promise<Patient> {
    const patient = await inTransaction(this.pool, async (client) => {
      const { rows } = await client
        .query<Row>(
          `INSERT INTO patients (id, name, family, given, email, phone, address, date_of_birth, gender, details, user_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ${COLUMNS}`,
          [id, ...this.values(record)],
        )
        .catch(uniqueViolation);
      return this.withEvent(client, 'created', toPatient(rows[0]!));
    });
    this.onEventsQueued();
    return patient;
  }

  /** The patient and the doctors who have (or had) an appointment with them that was not cancelled, in one query. */
  async getWithCareTeam(id: string): Promise<{ patient: Patient; careTeam: string[] }> {
    const { rows } = await this.pool.query<Row & { care_team: string[] }>(
      `SELECT ${COLUMNS},
              ARRAY(SELECT DISTINCT doctor_id FROM care_appointments WHERE patient_id = patients.id AND state <> 'cancelled') AS care_team
         FROM patients WHERE id = $1 AND deleted_at IS NULL`,
      [id],
    );
    if (!rows[0]) throw new NotFoundError('patient', id);
    return { patient: toPatient(rows[0]), careTeam: rows[0].care_team };
  }

  /**
   * Records what became of an appointment between a doctor and a patient, in any order and any
   * number of times: a cancellation is final (the lifecycle never leaves it), so it ends what the
   * appointment gave even when its booking is heard later, and a booking never revives it.
   */
  async recordCareAppointment(appointment: {
    appointmentId: string;
    patientId: string;
    doctorId: string;
    state: 'booked' | 'cancelled';
    at: string;
  }): Promise<void> {
    // A database outage surfaces as unavailable: the event is redelivered.
    await atomicStatement(
      this.pool,
      `INSERT INTO care_appointments (appointment_id, patient_id, doctor_id, state, since) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (appointment_id) DO UPDATE
          SET state = CASE WHEN EXCLUDED.state = 'cancelled' THEN 'cancelled' ELSE care_appointments.state END,
              since = LEAST(care_appointments.since, EXCLUDED.since)`,
      [appointment.appointmentId, appointment.patientId, appointment.doctorId, appointment.state, appointment.at],
    );
  }

  /** Replaces the record with what `change` computes from the current one (PUT and PATCH). */
  async update(id: string, change: (current: Patient) => PatientRecord): Promise<Patient> {
    const patient = await inTransaction(this.pool, async (client) => {
      const current = await client.query<Row>(`SELECT ${COLUMNS} FROM patients WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, [id]);
      if (!current.rows[0]) throw new NotFoundError('patient', id);
      const record = change(toPatient(current.rows[0]));
      const { rows } = await client
        .query<Row>(
          `UPDATE patients SET name = $2, family = $3, given = $4, email = $5, phone = $6, address = $7, date_of_birth = $8,
                  gender = $9, details = $10, user_id = $11, version = version + 1, updated_at = now()
            WHERE id = $1 RETURNING ${COLUMNS}`,
          [id, ...this.values(record)],
        )
        .catch(uniqueViolation);
      return this.withEvent(client, 'updated', toPatient(rows[0]!));
    });
    this.onEventsQueued();
    return patient;
  }

  /** Soft delete: medical records are kept, just no longer served. */
  async delete(id: string): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<Row>(
        `UPDATE patients SET deleted_at = now(), version = version + 1, updated_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
        [id],
      );
      if (!rows[0]) throw new NotFoundError('patient', id);
      await this.withEvent(client, 'deleted', toPatient(rows[0]));
    });
    this.onEventsQueued();
  }

  /**
   * Name/email prefix search in name order, within what `scope` lets the caller
   * see (their own record, their care team, or all); keyset pagination, so
   * inserts never shift later pages.
   */
  async list(options: PatientFilter & { limit: number; cursor?: string }, scope: Scope): Promise<Page<Patient>> {
    const { rows } = await this.pool.query<Row>(listQuery(options, scope));
    return toPage(rows, options.limit, toPatient, (row) => [row.sort_name, row.id]);
  }

  /** How many patients `list` finds under the same filter and scope, over all its pages. */
  async count(filter: PatientFilter, scope: Scope): Promise<number> {
    const where = whereOf(filter, scope, 0);
    const { rows } = await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM patients WHERE ${where.sql}`, where.params);
    return Number(rows[0]!.n);
  }

  private values(record: PatientRecord) {
    return [
      record.name,
      record.family,
      record.given,
      record.email,
      record.phone,
      record.address,
      record.dateOfBirth,
      record.gender,
      JSON.stringify(record.details),
      record.userId,
    ];
  }

  private async withEvent(client: PoolClient, kind: PatientEventKind, patient: Patient): Promise<Patient> {
    await enqueueEvent(client, patientEvent(kind, patient));
    return patient;
  }
}
