import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  ConflictError,
  decodeCursor,
  NotFoundError,
  RuleViolationError,
  timestamp,
  toPage,
  uuidv7,
  type Page,
  type Scope,
} from '@caregrid/platform';
import {
  enqueueEvent,
  inTransaction,
  recordScope,
  scopeClause,
  withSession,
  type Pool,
  type PoolClient,
  type ScopeColumns,
} from '@caregrid/platform/postgres';
import type { Appointment, AppointmentStatus, NewAppointment, PaymentMethod } from '../domain/appointment.js';
import { appointmentEvent, purgedEvent, rescheduledEvent } from '../events/appointment-events.js';

type Row = {
  id: string;
  patient_id: string;
  doctor_id: string;
  patient_name: string;
  doctor_name: string;
  specialization: string;
  start_at: Date;
  end_at: Date;
  service_type: Appointment['serviceType'];
  reason: string | null;
  amount: string;
  currency: string;
  status: AppointmentStatus;
  cancellation_reason: string | null;
  payment_method: PaymentMethod | null;
  paid_amount: string | null;
  paid_at: Date | null;
  version: number;
  created_at: Date;
  updated_at: Date;
};

const toAppointment = (row: Row): Appointment => ({
  id: row.id,
  patientId: row.patient_id,
  doctorId: row.doctor_id,
  patientName: row.patient_name,
  doctorName: row.doctor_name,
  specialization: row.specialization,
  start: row.start_at.toISOString(),
  end: row.end_at.toISOString(),
  serviceType: row.service_type,
  reason: row.reason,
  amount: Number(row.amount),
  currency: row.currency,
  status: row.status,
  cancellationReason: row.cancellation_reason,
  payment: row.payment_method ? { method: row.payment_method, amount: Number(row.paid_amount), paidAt: row.paid_at!.toISOString() } : null,
  version: row.version,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

export type AppointmentFilter = {
  patientId?: string;
  doctorId?: string;
  status?: AppointmentStatus;
  serviceType?: Appointment['serviceType'];
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
};

const cursorSchema = z.tuple([timestamp, z.uuid()]);

/**
 * What an appointment's scope links are in its row. The care team (a doctor's patients: those with
 * an appointment with them that was not cancelled, archived ones included) is unused while the
 * model grants no `care` on appointments; an index on the archive's doctor_id would serve it then.
 */
export const APPOINTMENT_SCOPE_COLUMNS: ScopeColumns = {
  patientId: 'patient_id',
  doctorId: 'doctor_id',
  careTeamOf: (doctors) =>
    `patient_id IN (SELECT patient_id FROM appointments WHERE doctor_id = ANY(${doctors}) AND status <> 'cancelled'
                    UNION SELECT patient_id FROM appointments_archive WHERE doctor_id = ANY(${doctors}) AND status <> 'cancelled')`,
};
const SCOPE = recordScope('appointment', APPOINTMENT_SCOPE_COLUMNS);

/** The WHERE of a search within a scope (the filters narrow it, never widen it); parameters numbered after `offset`. */
export function whereOf(filter: Omit<AppointmentFilter, 'limit' | 'cursor'>, scope: Scope, offset: number) {
  const scoped = scopeClause(scope, SCOPE, offset + 1);
  const $ = (n: number) => `$${offset + scoped.params.length + n}`;
  return {
    sql: `${scoped.sql}
      AND (${$(1)}::uuid IS NULL OR patient_id = ${$(1)}) AND (${$(2)}::uuid IS NULL OR doctor_id = ${$(2)})
      AND (${$(3)}::text IS NULL OR status = ${$(3)})
      AND (${$(4)}::timestamptz IS NULL OR start_at >= ${$(4)}) AND (${$(5)}::timestamptz IS NULL OR start_at < ${$(5)})
      AND (${$(6)}::text IS NULL OR service_type = ${$(6)})`,
    params: [
      ...scoped.params,
      filter.patientId ?? null,
      filter.doctorId ?? null,
      filter.status ?? null,
      filter.from ?? null,
      filter.to ?? null,
      filter.serviceType ?? null,
    ],
  };
}
const OVERLAP_CONSTRAINTS: Record<string, 'doctor' | 'patient'> = {
  appointments_doctor_no_overlap: 'doctor',
  appointments_patient_no_overlap: 'patient',
};

/** Whether a 409's caller may learn the id of the appointment in the way (one they may read). */
export type RevealsConflict = (other: { patientId: string; doctorId: string }) => boolean;
export type CreateOptions = { maxOpenPerPatient?: number; reveals?: RevealsConflict };

/** Appointments in PostgreSQL; every state change and its event commit together (outbox). */
/**
 * Takes the patient's and the doctor's transaction locks, always in that order, before a write
 * that places an appointment in time. The overlap exclusion constraints alone let two concurrent
 * inserts of one slot each wait for the other's check (PostgreSQL reports a deadlock, 40P01, and
 * with twenty at once every one of them failed); one after the other, the second meets the first's
 * committed row and is refused as an overlap (409). It also serializes the cap's count (see create).
 */
async function lockParties(client: PoolClient, parties: { patientId: string; doctorId: string }): Promise<void> {
  await client.query(
    `SELECT pg_advisory_xact_lock(hashtextextended('appointments.patient:' || $1, 0)),
            pg_advisory_xact_lock(hashtextextended('appointments.doctor:' || $2, 0))`,
    [parties.patientId, parties.doctorId],
  );
}

export class AppointmentRepository {
  constructor(
    private readonly pool: Pool,
    private readonly onEventsQueued: () => void = () => undefined,
  ) {}

  /**
   * `id`: given by a caller that notes the access before the write (the audit entry commits with it).
   * `maxOpenPerPatient`: refused (422 open-bookings-cap) when the patient already has that many open
   * future bookings. The count and the insert run under a per-patient transaction lock, so
   * concurrent bookings of one patient are counted one after the other and cannot together pass
   * the cap. `reveals`: whether a 409 may name the other appointment (see `overlap`).
   */
  async create(booking: NewAppointment, id = uuidv7(), options: CreateOptions = {}): Promise<Appointment> {
    // The event is the row as it will be stored, so both commit together.
    const event = appointmentEvent('booked', {
      ...booking,
      id,
      start: new Date(booking.start).toISOString(),
      end: new Date(booking.end).toISOString(),
      status: 'booked',
      cancellationReason: null,
      payment: null,
      version: 1,
    });
    const { maxOpenPerPatient } = options;
    const appointment = await inTransaction(this.pool, async (client) => {
      await lockParties(client, booking);
      if (maxOpenPerPatient !== undefined) {
        const { rows } = await client.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM appointments WHERE patient_id = $1 AND status = 'booked' AND start_at > now()",
          [booking.patientId],
        );
        if (rows[0]!.n >= maxOpenPerPatient) {
          throw new RuleViolationError(`a patient may have at most ${maxOpenPerPatient} open future bookings`, {
            rule: 'open-bookings-cap',
            maxOpenBookings: maxOpenPerPatient,
          });
        }
      }
      const { rows } = await client.query<Row>(
        `INSERT INTO appointments (id, patient_id, doctor_id, patient_name, doctor_name, specialization, start_at, end_at,
                                   service_type, reason, amount, currency)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *`,
        [
          id,
          booking.patientId,
          booking.doctorId,
          booking.patientName,
          booking.doctorName,
          booking.specialization,
          booking.start,
          booking.end,
          booking.serviceType,
          booking.reason,
          booking.amount,
          booking.currency,
        ],
      );
      await enqueueEvent(client, event);
      return toAppointment(rows[0]!);
    }).catch((error: unknown) => this.overlap(error, booking, null, options.reveals));
    this.onEventsQueued();
    return appointment;
  }

  async get(id: string): Promise<Appointment> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM appointments WHERE id = $1', [id]);
    if (!rows[0]) throw new NotFoundError('appointment', id);
    return toAppointment(rows[0]);
  }

  /** Changes one appointment under a row lock: `change` checks the rules and says what to write. */
  async change(
    id: string,
    change: (current: Appointment) => {
      status?: AppointmentStatus;
      cancellationReason?: string;
      payment?: { method: PaymentMethod; amount: number };
    },
  ): Promise<Appointment> {
    const appointment = await inTransaction(this.pool, async (client) => {
      const current = await client.query<Row>('SELECT * FROM appointments WHERE id = $1 FOR UPDATE', [id]);
      if (!current.rows[0]) throw new NotFoundError('appointment', id);
      const before = toAppointment(current.rows[0]);
      const next = change(before);
      const { rows } = await client.query<Row>(
        `UPDATE appointments SET status = COALESCE($2, status), cancellation_reason = COALESCE($3, cancellation_reason),
                payment_method = COALESCE($4, payment_method), paid_amount = COALESCE($5, paid_amount),
                paid_at = CASE WHEN $4::text IS NULL THEN paid_at ELSE now() END, updated_at = now()
          WHERE id = $1 RETURNING *`,
        [id, next.status ?? null, next.cancellationReason ?? null, next.payment?.method ?? null, next.payment?.amount ?? null],
      );
      const after = toAppointment(rows[0]!);
      if (next.payment) await enqueueEvent(client, appointmentEvent('paid', after));
      if (next.status === 'cancelled' || next.status === 'fulfilled' || next.status === 'noshow') {
        await enqueueEvent(client, appointmentEvent(next.status, after));
      }
      return after;
    });
    this.onEventsQueued();
    return appointment;
  }

  /**
   * Moves one appointment under a row lock: `plan` checks the rules against the row as it is and
   * says where it goes (null: nowhere, nothing written). The new times, the version one more and
   * the `rescheduled` event commit together; the old slot is free once they do. Overlapping
   * another appointment of the doctor or the patient is refused by the database (409), and then
   * nothing is written.
   */
  async reschedule(
    id: string,
    plan: (current: Appointment) => { start: string; end: string } | null,
    reveals?: RevealsConflict,
  ): Promise<Appointment> {
    let target: { doctorId: string; patientId: string; start: string; end: string } | undefined;
    const appointment = await inTransaction(this.pool, async (client) => {
      const current = await client.query<Row>('SELECT * FROM appointments WHERE id = $1 FOR UPDATE', [id]);
      if (!current.rows[0]) throw new NotFoundError('appointment', id);
      const before = toAppointment(current.rows[0]);
      const move = plan(before);
      if (!move) return { moved: false, appointment: before };
      target = { doctorId: before.doctorId, patientId: before.patientId, ...move };
      await lockParties(client, before);
      const { rows } = await client.query<Row>(
        `UPDATE appointments SET start_at = $2, end_at = $3, version = version + 1, updated_at = now() WHERE id = $1 RETURNING *`,
        [id, move.start, move.end],
      );
      const after = toAppointment(rows[0]!);
      await enqueueEvent(client, rescheduledEvent(after, before));
      return { moved: true, appointment: after };
    }).catch((error: unknown) => (target ? this.overlap(error, target, id, reveals) : Promise.reject(error)));
    if (appointment.moved) this.onEventsQueued();
    return appointment.appointment;
  }

  /**
   * Keyset pagination in start order (stable while appointments are booked
   * meanwhile), within what `scope` lets the caller see: the filters narrow it
   * further, never widen it.
   */
  async list(filter: AppointmentFilter, scope: Scope): Promise<Page<Appointment>> {
    const after = filter.cursor ? decodeCursor(filter.cursor, cursorSchema) : null;
    const where = whereOf(filter, scope, 3);
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM appointments
        WHERE ${where.sql} AND ($1::timestamptz IS NULL OR (start_at, id) > ($1, $2::uuid))
        ORDER BY start_at, id LIMIT $3`,
      [after?.[0] ?? null, after?.[1] ?? null, filter.limit + 1, ...where.params],
    );
    return toPage(rows, filter.limit, toAppointment, (row) => [row.start_at.toISOString(), row.id]);
  }

  /** How many appointments `list` finds under the same filters and scope, over all its pages. */
  async count(filter: Omit<AppointmentFilter, 'limit' | 'cursor'>, scope: Scope): Promise<number> {
    const where = whereOf(filter, scope, 0);
    const { rows } = await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM appointments WHERE ${where.sql}`, where.params);
    return Number(rows[0]!.n);
  }

  /** Time a doctor is taken between two instants (appointments that still occupy their slot). */
  async busy(doctorId: string, from: Date, to: Date): Promise<{ start: Date; end: Date }[]> {
    const { rows } = await this.pool.query<{ start_at: Date; end_at: Date }>(
      `SELECT start_at, end_at FROM appointments
        WHERE doctor_id = $1 AND status IN ('booked', 'checked-in', 'fulfilled') AND tstzrange(start_at, end_at) && tstzrange($2, $3)`,
      [doctorId, from, to],
    );
    return rows.map((r) => ({ start: r.start_at, end: r.end_at }));
  }

  /**
   * Archives appointments that ended before `cutoff`, `batchSize` rows per
   * transaction (short locks: bookings never wait long), once per
   * `minIntervalMs` across replicas: the first replica to fire records the run,
   * the others see it and skip. Publishes one summary event per run.
   *
   * A run holds a session advisory lock from its start to its end, so a replica
   * that does not get the lock skips: a run is in progress. A run whose app was
   * killed, or whose connection was lost, leaves its ledger row unfinished and
   * the lock free: the next trigger resumes that run at once instead of waiting
   * out the interval. Resuming is safe because each batch is a transaction that
   * moves its rows and counts them in the ledger together.
   */
  async archiveEnded(
    cutoff: Date,
    options: { batchSize: number; minIntervalMs: number },
  ): Promise<{ ran: boolean; archived: number; runId?: string }> {
    const outcome = await withSession(this.pool, async (session) => {
      const { rows: lock } = await session.query<{ locked: boolean }>(
        "SELECT pg_try_advisory_lock(hashtext('appointments.cleanup')) AS locked",
      );
      if (!lock[0]!.locked) return undefined;
      // PostgreSQL notices a vanished client only when it next writes to it: a killed app's backend
      // would go on with the procedure to its end, lock held. Checked every second, it stops then
      // (its current batch rolled back) and the next trigger can resume the run.
      await session.query("SET client_connection_check_interval = '1s'");
      const run = await this.cleanupRunToDo(session, cutoff, options.minIntervalMs);
      if (!run) return undefined;
      // Every batch in one call, each its own transaction (003_resumable_cleanup.sql).
      await session.query('CALL archive_ended_appointments($1, $2, $3)', [run.id, run.cutoff, options.batchSize]);
      await session.query('BEGIN');
      try {
        // Any other unfinished row is older (a run starts only when none is unfinished): a run cut
        // off before runs were resumed, whose rows this one's later cutoff has archived.
        const { rows: finished } = await session.query<{ id: string; archived: number }>(
          'UPDATE cleanup_runs SET finished_at = now() WHERE finished_at IS NULL RETURNING id, archived',
        );
        const archived = finished.find((r) => r.id === run.id)!.archived;
        await enqueueEvent(session, purgedEvent(archived, run.cutoff));
        await session.query('COMMIT');
        return { archived, runId: run.id };
      } catch (error) {
        await session.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
    if (!outcome) return { ran: false, archived: 0 };
    this.onEventsQueued();
    return { ran: true, ...outcome };
  }

  /** The run cut off before its end, if any (resumed whenever); else a new one, unless one started within `minIntervalMs`. */
  private async cleanupRunToDo(
    session: PoolClient,
    cutoff: Date,
    minIntervalMs: number,
  ): Promise<{ id: string; cutoff: Date } | undefined> {
    const { rows: unfinished } = await session.query<{ id: string; cutoff: Date }>(
      'SELECT id, cutoff FROM cleanup_runs WHERE finished_at IS NULL ORDER BY started_at DESC LIMIT 1',
    );
    if (unfinished[0]) return unfinished[0];
    const { rows: started } = await session.query<{ id: string; cutoff: Date }>(
      `INSERT INTO cleanup_runs (id, cutoff)
       SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM cleanup_runs WHERE started_at > now() - make_interval(secs => $3))
       RETURNING id, cutoff`,
      [randomUUID(), cutoff, minIntervalMs / 1000],
    );
    return started[0];
  }

  /**
   * An exclusion-constraint violation becomes a 409 naming who is double-booked and the slot that
   * is taken (by another appointment than `moving`, the one being moved, if any). The other
   * appointment's id only when `reveals` says the caller may read it: another patient's booking
   * is theirs, and its id would open nothing but still tell that it exists.
   */
  private async overlap(
    error: unknown,
    booking: Pick<NewAppointment, 'doctorId' | 'patientId' | 'start' | 'end'>,
    moving: string | null = null,
    reveals: RevealsConflict = () => false,
  ): Promise<never> {
    const pgError = error as { code?: string; constraint?: string };
    const who = OVERLAP_CONSTRAINTS[pgError.constraint ?? ''];
    if (pgError.code !== '23P01' || !who) throw error;
    const column = who === 'doctor' ? 'doctor_id' : 'patient_id';
    const { rows } = await this.pool.query<{ id: string; patient_id: string; doctor_id: string; start_at: Date; end_at: Date }>(
      `SELECT id, patient_id, doctor_id, start_at, end_at FROM appointments
        WHERE ${column} = $1 AND status IN ('booked', 'checked-in', 'fulfilled') AND tstzrange(start_at, end_at) && tstzrange($2, $3)
          AND ($4::uuid IS NULL OR id <> $4) LIMIT 1`,
      [who === 'doctor' ? booking.doctorId : booking.patientId, booking.start, booking.end, moving],
    );
    const conflict = rows[0];
    const shown = conflict && reveals({ patientId: conflict.patient_id, doctorId: conflict.doctor_id });
    throw new ConflictError(`the ${who} already has an appointment at that time`, {
      conflictWith: who,
      conflictingSlot: conflict
        ? { ...(shown ? { appointmentId: conflict.id } : {}), start: conflict.start_at.toISOString(), end: conflict.end_at.toISOString() }
        : undefined,
    });
  }
}
