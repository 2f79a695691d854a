/**
 * appointment-service's writes against real PostgreSQL, and against one it cannot reach: a
 * booking and its event are one transaction (both or neither), the database being down is a
 * 503 (DependencyUnavailableError) for the booking and the cleanup alike, with nothing written,
 * and a cleanup whose process is killed mid-run is resumed by the next trigger.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { appointmentBooked, appointmentRescheduled, appointmentsPurged } from '@caregrid/contracts';
import { eventually, freshDatabase, freePort, repoRoot } from '@caregrid/devkit';
import { ConflictError, DependencyUnavailableError, loadMigrations } from '@caregrid/platform';
import { createPgPool, migratePostgres, type Pool } from '@caregrid/platform/postgres';
import pg from 'pg';
import { AppointmentRepository } from '../../src/data/appointment-repository.js';
import type { NewAppointment } from '../../src/domain/appointment.js';

const migrations = loadMigrations(new URL('../../src/data/migrations/', import.meta.url));
let pool: Pool;
let databaseUrl: string;
let drop: () => Promise<void>;

beforeAll(async () => {
  const database = await freshDatabase('postgres', 'appointment_repository');
  databaseUrl = database.url;
  drop = database.drop;
  pool = createPgPool(database.url, { max: 2 });
  await migratePostgres(pool, migrations);
});

afterAll(async () => {
  await pool?.end();
  await drop?.();
});

const booking = (start: string): NewAppointment => ({
  patientId: randomUUID(),
  doctorId: randomUUID(),
  patientName: 'Pat',
  doctorName: 'Dr Who',
  specialization: 'cardiology',
  start,
  end: new Date(new Date(start).getTime() + 30 * 60_000).toISOString(),
  serviceType: 'checkup',
  reason: null,
  amount: 5_000,
  currency: 'EUR',
});

it('a booking and its event are written together, and a refused one writes neither', async () => {
  const repository = new AppointmentRepository(pool);
  const first = booking('2031-03-03T09:00:00Z');
  const created = await repository.create(first);
  await expect(repository.create({ ...first, patientId: randomUUID() })).rejects.toBeInstanceOf(ConflictError);
  const { rows } = await pool.query<{ appointments: number; events: number; subject: string }>(
    `SELECT (SELECT count(*)::int FROM appointments WHERE doctor_id = $1) AS appointments,
            (SELECT count(*)::int FROM outbox WHERE data->>'doctorId' = $1::text) AS events,
            (SELECT subject FROM outbox WHERE data->>'doctorId' = $1::text) AS subject`,
    [first.doctorId],
  );
  expect(rows[0]).toEqual({ appointments: 1, events: 1, subject: created.id });
});

it('the database out of reach: the booking and the cleanup are unavailable (503), not a 500', async () => {
  const unreachable = createPgPool(`postgres://nobody:secret@127.0.0.1:${await freePort()}/nothing`, { max: 1 });
  const repository = new AppointmentRepository(unreachable);
  try {
    await expect(repository.create(booking('2031-03-04T09:00:00Z'))).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(repository.archiveEnded(new Date(), { batchSize: 10, minIntervalMs: 1_000 })).rejects.toBeInstanceOf(
      DependencyUnavailableError,
    );
  } finally {
    await unreachable.end();
  }
});

it('a cleanup killed mid-run (kill -9) is resumed by the next trigger at once: every old appointment archived exactly once', async () => {
  const rows = 20_000;
  const batchSize = 500;
  await pool.query(
    `INSERT INTO appointments (id, patient_id, doctor_id, patient_name, doctor_name, specialization, start_at, end_at, service_type, amount, currency, status)
     SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'Pat', 'Dr Old', 'cardiology',
            now() - interval '800 days' + make_interval(mins => g) - interval '30 minutes', now() - interval '800 days' + make_interval(mins => g),
            'checkup', 5000, 'EUR', 'fulfilled'
       FROM generate_series(1, $1::int) AS g`,
    [rows],
  );
  const recent = await new AppointmentRepository(pool).create(booking(new Date(Date.now() - 5 * 86_400_000).toISOString()));
  await pool.query('ANALYZE appointments');
  const archivedSoFar = async () => (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM appointments_archive')).rows[0]!.n;
  const cleanupBackends = async (waiting = false) =>
    (
      await pool.query(
        `SELECT 1 FROM pg_stat_activity
          WHERE datname = current_database() AND query LIKE 'CALL archive_ended_appointments%' AND ($1 = false OR wait_event_type = 'Lock')`,
        [waiting],
      )
    ).rowCount;

  // A row halfway down the run, locked by someone else: the run stops there, mid-way, until it is free.
  const holder = new pg.Client({ connectionString: databaseUrl });
  await holder.connect();
  try {
    await holder.query('BEGIN');
    await holder.query(
      `SELECT id FROM appointments
        WHERE id = (SELECT id FROM appointments WHERE doctor_name = 'Dr Old' ORDER BY end_at OFFSET $1 LIMIT 1) FOR UPDATE`,
      [rows / 2],
    );
    const cleanup = spawn(
      'node',
      ['--import', 'tsx', fileURLToPath(new URL('cleanup-process.ts', import.meta.url)), databaseUrl, String(batchSize)],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = once(cleanup, 'exit');
    await eventually(async () => ((await cleanupBackends(true)) === 1 ? true : undefined), 60_000);
    // Killed as kill -9 kills the app: some batches committed, the rest not done.
    cleanup.kill('SIGKILL');
    const [, signal] = (await exited) as [number | null, string | null];
    expect(signal).toBe('SIGKILL');
    // Its backend ends too, instead of waiting on, then going on unowned with the lock held.
    await eventually(async () => ((await cleanupBackends()) === 0 ? true : undefined), 5_000);
  } finally {
    await holder.query('ROLLBACK');
    await holder.end();
  }
  expect(await archivedSoFar()).toBeGreaterThan(0);
  expect(await archivedSoFar()).toBeLessThan(rows);
  const { rows: killed } = await pool.query<{ id: string }>('SELECT id FROM cleanup_runs WHERE finished_at IS NULL');
  expect(killed).toHaveLength(1);

  // The next trigger (the minimum interval is an hour) resumes that run at once instead of skipping.
  const repository = new AppointmentRepository(pool);
  const resumed = await repository.archiveEnded(new Date(Date.now() - 30 * 86_400_000), { batchSize, minIntervalMs: 3_600_000 });
  expect(resumed).toEqual({ ran: true, archived: rows, runId: killed[0]!.id });

  const { rows: outcome } = await pool.query<{ left: number; archived: number; distinct: number; recentKept: number }>(
    `SELECT (SELECT count(*)::int FROM appointments WHERE doctor_name = 'Dr Old') AS left,
            (SELECT count(*)::int FROM appointments_archive WHERE doctor_name = 'Dr Old') AS archived,
            (SELECT count(DISTINCT id)::int FROM appointments_archive) AS distinct,
            (SELECT count(*)::int FROM appointments WHERE id = $1) AS "recentKept"`,
    [recent.id],
  );
  expect(outcome[0]).toEqual({ left: 0, archived: rows, distinct: rows, recentKept: 1 });
  // One run in the ledger, finished, counting the batches of both processes; its one report says so.
  const { rows: ledger } = await pool.query('SELECT id, archived, finished_at IS NOT NULL AS finished FROM cleanup_runs');
  expect(ledger).toEqual([{ id: killed[0]!.id, archived: rows, finished: true }]);
  const { rows: reports } = await pool.query<{ archived: number }>(
    "SELECT (data->>'archived')::int AS archived FROM outbox WHERE type = $1",
    [appointmentsPurged.type],
  );
  expect(reports).toEqual([{ archived: rows }]);
  // A trigger right after it: the run is recent, nothing to do.
  expect(await repository.archiveEnded(new Date(), { batchSize, minIntervalMs: 3_600_000 })).toEqual({ ran: false, archived: 0 });
}, 120_000);

describe('moving an appointment', () => {
  const outboxOf = async (appointmentId: string) =>
    (
      await pool.query<{ type: string; data: Record<string, unknown> }>(
        'SELECT type, data FROM outbox WHERE subject = $1 AND topic = $2 ORDER BY created_at, id',
        [appointmentId, 'appointments'],
      )
    ).rows;
  const to = (start: string) => () => ({ start, end: new Date(new Date(start).getTime() + 30 * 60_000).toISOString() });

  it('the new times, version 2 and its rescheduled event (previous times in it) are written together', async () => {
    const repository = new AppointmentRepository(pool);
    const created = await repository.create(booking('2031-04-07T09:00:00Z'));
    expect(created.version).toBe(1);
    const moved = await repository.reschedule(created.id, to('2031-04-07T10:00:00.000Z'));
    expect(moved).toMatchObject({ start: '2031-04-07T10:00:00.000Z', end: '2031-04-07T10:30:00.000Z', version: 2 });
    expect(await repository.get(created.id)).toEqual(moved);
    const events = await outboxOf(created.id);
    expect(events.map((e) => [e.type, e.data.version])).toEqual([
      [appointmentBooked.type, 1],
      [appointmentRescheduled.type, 2],
    ]);
    expect(appointmentRescheduled.data.parse(events[1]!.data)).toMatchObject({
      start: '2031-04-07T10:00:00.000Z',
      end: '2031-04-07T10:30:00.000Z',
      previousStart: '2031-04-07T09:00:00.000Z',
      previousEnd: '2031-04-07T09:30:00.000Z',
      version: 2,
    });
    // The old slot is free: another patient books it.
    await expect(repository.create({ ...booking('2031-04-07T09:00:00Z'), doctorId: created.doctorId })).resolves.toMatchObject({
      version: 1,
    });
  });

  it('onto another appointment of the doctor or of the patient: 409 naming it, and nothing written; onto part of its own old slot it moves', async () => {
    const repository = new AppointmentRepository(pool);
    const mine = await repository.create({ ...booking('2031-04-08T09:00:00Z'), end: '2031-04-08T10:00:00.000Z' });
    const doctorsOther = await repository.create({ ...booking('2031-04-08T11:00:00Z'), doctorId: mine.doctorId });
    const patientsOther = await repository.create({ ...booking('2031-04-08T13:00:00Z'), patientId: mine.patientId });
    for (const [start, other, who] of [
      ['2031-04-08T10:30:00.000Z', doctorsOther, 'doctor'],
      ['2031-04-08T12:30:00.000Z', patientsOther, 'patient'],
    ] as const) {
      const plan = () => ({ start, end: new Date(Date.parse(start) + 3_600_000).toISOString() });
      const refusal = await repository.reschedule(mine.id, plan, () => true).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(ConflictError);
      expect((refusal as ConflictError).details).toMatchObject({ conflictWith: who, conflictingSlot: { appointmentId: other.id } });
      // A caller who may not read the other appointment learns the slot, not its id.
      const hidden = await repository.reschedule(mine.id, plan, () => false).catch((error: unknown) => error);
      expect((hidden as ConflictError).details).toEqual({
        conflictWith: who,
        conflictingSlot: { start: other.start, end: other.end },
      });
    }
    expect(await repository.get(mine.id)).toEqual(mine);
    expect((await outboxOf(mine.id)).map((e) => e.type)).toEqual([appointmentBooked.type]);
    // Half an hour later overlaps only its own old slot.
    await expect(
      repository.reschedule(mine.id, () => ({ start: '2031-04-08T09:30:00.000Z', end: '2031-04-08T10:30:00.000Z' })),
    ).resolves.toMatchObject({ version: 2 });
  });

  it('a plan that refuses, or says "nowhere" (the same start), writes nothing', async () => {
    const repository = new AppointmentRepository(pool);
    const created = await repository.create(booking('2031-04-09T09:00:00Z'));
    await expect(
      repository.reschedule(created.id, () => {
        throw new ConflictError('stale');
      }),
    ).rejects.toThrow('stale');
    expect(await repository.reschedule(created.id, () => null)).toEqual(created);
    expect(await repository.get(created.id)).toEqual(created);
    expect((await outboxOf(created.id)).map((e) => e.type)).toEqual([appointmentBooked.type]);
  });

  it('the cleanup archives a moved appointment with its version', async () => {
    const repository = new AppointmentRepository(pool);
    const old = await repository.create(booking(new Date(Date.now() - 900 * 86_400_000).toISOString()));
    await repository.reschedule(old.id, to(new Date(Date.now() - 899 * 86_400_000).toISOString()));
    const run = await repository.archiveEnded(new Date(Date.now() - 30 * 86_400_000), { batchSize: 10, minIntervalMs: 0 });
    expect(run.ran).toBe(true);
    const { rows } = await pool.query('SELECT version, archived_at IS NOT NULL AS stamped FROM appointments_archive WHERE id = $1', [
      old.id,
    ]);
    expect(rows).toEqual([{ version: 2, stamped: true }]);
  });
});

it('thirty concurrent bookings of one slot and thirty concurrent moves into one: one of each wins, the others are 409, none fails on a deadlock', async () => {
  const wide = createPgPool(databaseUrl, { max: 30 });
  try {
    const repository = new AppointmentRepository(wide);
    const slot = booking('2031-05-05T09:00:00Z');
    const booked = await Promise.allSettled(Array.from({ length: 30 }, () => repository.create({ ...slot, patientId: randomUUID() })));
    const outcomes = (results: PromiseSettledResult<unknown>[]) =>
      results.map((r) => (r.status === 'fulfilled' ? 'ok' : r.reason instanceof ConflictError ? 'conflict' : String(r.reason))).sort();
    expect(outcomes(booked)).toEqual([...Array(29).fill('conflict'), 'ok']);

    // Thirty appointments of one doctor, each moved at once into the same free slot.
    const doctorId = randomUUID();
    const mine = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        repository.create({ ...booking(`2031-06-0${1 + (i % 9)}T${String(8 + Math.floor(i / 9)).padStart(2, '0')}:00:00Z`), doctorId }),
      ),
    );
    const target = { start: '2031-06-20T09:00:00.000Z', end: '2031-06-20T09:30:00.000Z' };
    const moved = await Promise.allSettled(mine.map((a) => repository.reschedule(a.id, () => target)));
    expect(outcomes(moved)).toEqual([...Array(29).fill('conflict'), 'ok']);
  } finally {
    await wide.end();
  }
});

it("a care-team scope (no grant uses it yet) finds the appointments of the doctor's patients with any doctor, not of one whose only appointment with them was cancelled", async () => {
  const repository = new AppointmentRepository(pool);
  const withDoctor = await repository.create(booking('2031-05-05T09:00:00Z'));
  const doctorId = withDoctor.doctorId;
  const elsewhere = await repository.create({ ...booking('2031-05-06T09:00:00Z'), patientId: withDoctor.patientId });
  const cancelled = await repository.create({ ...booking('2031-05-05T10:00:00Z'), doctorId });
  await repository.change(cancelled.id, () => ({ status: 'cancelled', cancellationReason: 'no longer needed' }));
  await repository.create({ ...booking('2031-05-06T10:00:00Z'), patientId: cancelled.patientId });
  const scope = { all: false, anyOf: [{ careTeamOf: doctorId }] };
  const filter = { from: '2031-05-05T00:00:00Z', to: '2031-05-07T00:00:00Z' };
  const page = await repository.list({ ...filter, limit: 10 }, scope);
  expect(page.items.map((appointment) => appointment.id)).toEqual([withDoctor.id, elsewhere.id]);
  expect(await repository.count(filter, scope)).toBe(2);
});
