/**
 * appointment-service's writes against real PostgreSQL, and against one it cannot reach: a
 * booking and its event are one statement (both or neither), and the database being down is a
 * 503 (DependencyUnavailableError) for the booking and the cleanup alike, with nothing written.
 */
import { randomUUID } from 'node:crypto';
import { freshDatabase, freePort } from '@caregrid/devkit';
import { ConflictError, DependencyUnavailableError, loadMigrations } from '@caregrid/platform';
import { createPgPool, migratePostgres, type Pool } from '@caregrid/platform/postgres';
import { AppointmentRepository } from '../../src/data/appointment-repository.js';
import type { NewAppointment } from '../../src/domain/appointment.js';

const migrations = loadMigrations(new URL('../../src/data/migrations/', import.meta.url));
let pool: Pool;
let drop: () => Promise<void>;

beforeAll(async () => {
  const database = await freshDatabase('postgres', 'appointment_repository');
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
