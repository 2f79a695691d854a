import { z } from 'zod';
import { decodeCursor, NotFoundError, timestamp, toPage, uuidv7, type Page, type Scope } from '@caregrid/platform';
import { inTransaction, recordScope, scopeClause, type Pool, type PoolClient } from '@caregrid/platform/postgres';
import type { AccountMailPurpose } from '@caregrid/contracts';
import type { AccountNotice, AnyNotice, Notice, NoticeKind, NoticeStatus } from '../domain/notice.js';

/** Appointment columns are null on account mail, request and account null on mail about appointments (002_account_mail.sql). */
type Row = {
  id: string;
  appointment_id: string | null;
  patient_id: string | null;
  doctor_id: string | null;
  request_id: string | null;
  account_id: string | null;
  kind: NoticeKind | AccountMailPurpose;
  version: number;
  status: NoticeStatus;
  attempts: number;
  next_attempt_at: Date | null;
  last_error: string | null;
  appointment_start: Date | null;
  due_at: Date | null;
  job_name: string | null;
  sent_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

const toNotice = (r: Row): Notice => ({
  id: r.id,
  appointmentId: r.appointment_id!,
  patientId: r.patient_id!,
  doctorId: r.doctor_id!,
  kind: r.kind as NoticeKind,
  version: r.version,
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at?.toISOString() ?? null,
  lastError: r.last_error,
  appointmentStart: r.appointment_start!.toISOString(),
  dueAt: r.due_at?.toISOString() ?? null,
  jobName: r.job_name,
  sentAt: r.sent_at?.toISOString() ?? null,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const toAccountNotice = (r: Row): AccountNotice => ({
  id: r.id,
  requestId: r.request_id!,
  accountId: r.account_id!,
  kind: r.kind as AccountMailPurpose,
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at?.toISOString() ?? null,
  lastError: r.last_error,
  sentAt: r.sent_at?.toISOString() ?? null,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const toAnyNotice = (r: Row): AnyNotice => (r.request_id ? toAccountNotice(r) : toNotice(r));

/** What an appointment event says a notice is about. */
export type AppointmentFacts = { appointmentId: string; patientId: string; doctorId: string; version: number; start: string };
export type NewNotice = { kind: Exclude<NoticeKind, 'reminder'> } | { kind: 'reminder'; dueAt: Date; jobName: string };

export type NoticeFilter = { appointmentId?: string; patientId?: string; status?: NoticeStatus; limit: number; cursor?: string };

/** What a FHIR search of notices narrows by: the resource's kinds and statuses, the patient, the appointment, one notice. */
export type NoticeSearch = {
  kinds: readonly NoticeKind[];
  statuses: readonly NoticeStatus[];
  patientId?: string;
  appointmentId?: string;
  id?: string;
};

/** Mail about an appointment is the patient's and the doctor's (account mail has neither: no scope but `all` sees it). */
const SCOPE = recordScope('notification', { patientId: 'patient_id', doctorId: 'doctor_id' });

/** A search's filters and the caller's scope as SQL: the condition, its parameters numbered from `first`. */
function searchConditions(search: NoticeSearch, scope: Scope, first: number): { where: string; params: unknown[] } {
  const scoped = scopeClause(scope, SCOPE, first);
  const $ = (n: number) => `$${first + scoped.params.length + n}`;
  return {
    where: `${scoped.sql}
        AND kind = ANY(${$(0)}::text[]) AND status = ANY(${$(1)}::text[])
        AND (${$(2)}::uuid IS NULL OR patient_id = ${$(2)}) AND (${$(3)}::uuid IS NULL OR appointment_id = ${$(3)})
        AND (${$(4)}::uuid IS NULL OR id = ${$(4)})`,
    params: [...scoped.params, search.kinds, search.statuses, search.patientId ?? null, search.appointmentId ?? null, search.id ?? null],
  };
}

const cursorSchema = z.tuple([timestamp, z.uuid()]);
const MAX_ERROR_LENGTH = 1_000;

/**
 * The ledger. Writes about one appointment serialise on a lock of its own (the event handlers),
 * and every insert is ON CONFLICT DO NOTHING on (appointment, kind, version): a redelivered event,
 * or the same one twice in a batch, adds nothing.
 */
export class NoticeRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Runs `fn` under the appointment's lock, with what the ledger knows of it: whether a newer
   * version or a cancellation was seen already (then an older event changes nothing).
   */
  inAppointment<T>(
    appointmentId: string,
    fn: (tx: AppointmentLedger, known: { latestVersion: number; cancelled: boolean }) => Promise<T>,
  ): Promise<T> {
    return inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [appointmentId]);
      const { rows } = await client.query<{ latest: number | null; cancelled: boolean }>(
        `SELECT max(version) AS latest, bool_or(kind = 'cancellation') AS cancelled FROM notices WHERE appointment_id = $1`,
        [appointmentId],
      );
      return fn(new AppointmentLedger(client, appointmentId), {
        latestVersion: rows[0]?.latest ?? 0,
        cancelled: rows[0]?.cancelled ?? false,
      });
    });
  }

  async get(id: string): Promise<Notice> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM notices WHERE id = $1 AND appointment_id IS NOT NULL', [id]);
    if (!rows[0]) throw new NotFoundError('notification', id);
    return toNotice(rows[0]);
  }

  /** Any notice's status (an appointment's or an account's mail). */
  async statusOf(id: string): Promise<NoticeStatus> {
    const { rows } = await this.pool.query<{ status: NoticeStatus }>('SELECT status FROM notices WHERE id = $1', [id]);
    if (!rows[0]) throw new NotFoundError('notification', id);
    return rows[0].status;
  }

  /** The mail of an account mail request, pending now; a redelivered request adds nothing. Answers whether it was new. */
  async addAccountMail(request: { requestId: string; accountId: string; purpose: AccountMailPurpose }): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO notices (id, request_id, account_id, kind, version, status, next_attempt_at)
       VALUES ($1, $2, $3, $4, 1, 'pending', now())
       ON CONFLICT ON CONSTRAINT notices_request_once DO NOTHING`,
      [uuidv7(), request.requestId, request.accountId, request.purpose],
    );
    return rowCount === 1;
  }

  async find(appointmentId: string, kind: NoticeKind, version: number): Promise<Notice | undefined> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM notices WHERE appointment_id = $1 AND kind = $2 AND version = $3', [
      appointmentId,
      kind,
      version,
    ]);
    return rows[0] ? toNotice(rows[0]) : undefined;
  }

  /** A scheduled reminder becomes due to send (pending) or is skipped: once, whoever asks first. */
  async settleReminder(id: string, outcome: { status: 'pending' } | { status: 'skipped'; reason: string }): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE notices SET status = $2, next_attempt_at = CASE WHEN $2 = 'pending' THEN now() END, last_error = $3, updated_at = now()
        WHERE id = $1 AND status = 'scheduled'`,
      [id, outcome.status, outcome.status === 'skipped' ? outcome.reason : null],
    );
    return rowCount === 1;
  }

  /** Reminders still waiting for their job, earliest first (the sweep). */
  async scheduledReminders(limit: number, after?: { dueAt: string; id: string }): Promise<Notice[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM notices WHERE status = 'scheduled' AND ($2::timestamptz IS NULL OR (due_at, id) > ($2, $3::uuid))
        ORDER BY due_at, id LIMIT $1`,
      [limit, after?.dueAt ?? null, after?.id ?? null],
    );
    return rows.map(toNotice);
  }

  /**
   * Takes up to `limit` due pending notices for `sender` for `leaseMs`, in a short statement of
   * its own (no transaction stays open while mail is sent). A sender that dies leaves its claims
   * to expire; another then takes the notices.
   */
  async claimDue(sender: string, limit: number, leaseMs: number): Promise<AnyNotice[]> {
    const { rows } = await this.pool.query<Row>(
      `UPDATE notices SET claimed_by = $1, claimed_until = now() + make_interval(secs => $3::double precision / 1000)
        WHERE id IN (
          SELECT id FROM notices
           WHERE status = 'pending' AND next_attempt_at <= now() AND (claimed_until IS NULL OR claimed_until < now())
           ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
        RETURNING *`,
      [sender, limit, leaseMs],
    );
    return rows.map(toAnyNotice);
  }

  /** Sent: only while this sender still holds the claim (after a lease ran out another sender may hold it). */
  async markSent(id: string, sender: string): Promise<void> {
    await this.pool.query(
      `UPDATE notices SET status = 'sent', sent_at = now(), attempts = attempts + 1, last_error = NULL,
              claimed_by = NULL, claimed_until = NULL, updated_at = now()
        WHERE id = $1 AND claimed_by = $2`,
      [id, sender],
    );
  }

  /** A failed attempt: back to pending at `nextAttemptAt`, or failed / skipped for good. */
  async markAttempt(
    id: string,
    sender: string,
    outcome: { status: 'pending'; nextAttemptAt: Date; error: string; counted: boolean } | { status: 'failed' | 'skipped'; error: string },
  ): Promise<void> {
    await this.pool.query(
      `UPDATE notices SET status = $3, attempts = attempts + $4, last_error = $5, next_attempt_at = $6,
              claimed_by = NULL, claimed_until = NULL, updated_at = now()
        WHERE id = $1 AND claimed_by = $2`,
      [
        id,
        sender,
        outcome.status,
        outcome.status === 'skipped' || (outcome.status === 'pending' && !outcome.counted) ? 0 : 1,
        outcome.error.slice(0, MAX_ERROR_LENGTH),
        outcome.status === 'pending' ? outcome.nextAttemptAt : null,
      ],
    );
  }

  /** An admin's re-send: a failed notice back to pending with a fresh budget; undefined when it is not failed. */
  async resend(id: string): Promise<AnyNotice | undefined> {
    const { rows } = await this.pool.query<Row>(
      `UPDATE notices SET status = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now()
        WHERE id = $1 AND status = 'failed' RETURNING *`,
      [id],
    );
    return rows[0] ? toAnyNotice(rows[0]) : undefined;
  }

  /** Keyset pagination in creation order, within what `scope` lets the caller see. */
  async list(filter: NoticeFilter, scope: Scope): Promise<Page<Notice>> {
    const after = filter.cursor ? decodeCursor(filter.cursor, cursorSchema) : null;
    const scoped = scopeClause(scope, SCOPE, 7);
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM notices
        WHERE appointment_id IS NOT NULL AND ${scoped.sql}
          AND ($4::uuid IS NULL OR appointment_id = $4) AND ($5::uuid IS NULL OR patient_id = $5)
          AND ($6::text IS NULL OR status = $6)
          AND ($1::timestamptz IS NULL OR (created_at, id) > ($1, $2::uuid))
        ORDER BY created_at, id LIMIT $3`,
      [
        after?.[0] ?? null,
        after?.[1] ?? null,
        filter.limit + 1,
        filter.appointmentId ?? null,
        filter.patientId ?? null,
        filter.status ?? null,
        ...scoped.params,
      ],
    );
    return toPage(rows, filter.limit, toNotice, (r) => [r.created_at.toISOString(), r.id]);
  }

  /**
   * A page of a FHIR search in creation order, within what `scope` lets the caller see (creation
   * times are stored in milliseconds, as the cursor carries them: migration 003).
   */
  async search(search: NoticeSearch, scope: Scope, page: { limit: number; cursor?: string }): Promise<Page<Notice>> {
    const after = page.cursor ? decodeCursor(page.cursor, cursorSchema) : null;
    const { where, params } = searchConditions(search, scope, 4);
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM notices
        WHERE ${where} AND ($1::timestamptz IS NULL OR (created_at, id) > ($1, $2::uuid))
        ORDER BY created_at, id LIMIT $3`,
      [after?.[0] ?? null, after?.[1] ?? null, page.limit + 1, ...params],
    );
    return toPage(rows, page.limit, toNotice, (r) => [r.created_at.toISOString(), r.id]);
  }

  /** How many notices the search finds in all (a searchset's total). */
  async count(search: NoticeSearch, scope: Scope): Promise<number> {
    const { where, params } = searchConditions(search, scope, 1);
    const { rows } = await this.pool.query<{ total: number }>(`SELECT count(*)::int AS total FROM notices WHERE ${where}`, params);
    return rows[0]?.total ?? 0;
  }

  async remindersWanted(patientId: string): Promise<boolean> {
    const { rows } = await this.pool.query<{ reminders: boolean }>('SELECT reminders FROM preferences WHERE patient_id = $1', [patientId]);
    return rows[0]?.reminders ?? true;
  }

  async setReminders(patientId: string, reminders: boolean): Promise<void> {
    await this.pool.query(
      `INSERT INTO preferences (patient_id, reminders) VALUES ($1, $2)
       ON CONFLICT (patient_id) DO UPDATE SET reminders = $2, updated_at = now()`,
      [patientId, reminders],
    );
  }
}

/** The writes about one appointment, inside its locked transaction (NoticeRepository.inAppointment). */
export class AppointmentLedger {
  constructor(
    private readonly client: PoolClient,
    private readonly appointmentId: string,
  ) {}

  /** Adds the notice unless one of its kind and version exists; answers the one there is. */
  async add(facts: AppointmentFacts, notice: NewNotice): Promise<Notice> {
    const reminder = notice.kind === 'reminder' ? notice : undefined;
    await this.client.query(
      `INSERT INTO notices (id, appointment_id, patient_id, doctor_id, kind, version, status, next_attempt_at, appointment_start, due_at, job_name)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT ON CONSTRAINT notices_once DO NOTHING`,
      [
        uuidv7(),
        this.appointmentId,
        facts.patientId,
        facts.doctorId,
        notice.kind,
        facts.version,
        reminder ? 'scheduled' : 'pending',
        reminder ? null : new Date(),
        facts.start,
        reminder?.dueAt ?? null,
        reminder?.jobName ?? null,
      ],
    );
    const { rows } = await this.client.query<Row>('SELECT * FROM notices WHERE appointment_id = $1 AND kind = $2 AND version = $3', [
      this.appointmentId,
      notice.kind,
      facts.version,
    ]);
    return toNotice(rows[0]!);
  }

  /** Scheduled reminders (and unsent confirmations) of versions before `version` no longer hold. */
  async skipOlder(version: number, reason: string): Promise<void> {
    await this.client.query(
      `UPDATE notices SET status = 'skipped', last_error = $3, updated_at = now()
        WHERE appointment_id = $1 AND version < $2
          AND (status = 'scheduled' OR (status = 'pending' AND kind = 'confirmation' AND attempts = 0 AND claimed_by IS NULL))`,
      [this.appointmentId, version, reason],
    );
  }

  /** Every reminder still waiting for its job (cancelled: none will be sent). */
  async skipScheduled(reason: string): Promise<void> {
    await this.client.query(
      `UPDATE notices SET status = 'skipped', last_error = $2, updated_at = now() WHERE appointment_id = $1 AND status = 'scheduled'`,
      [this.appointmentId, reason],
    );
  }
}
