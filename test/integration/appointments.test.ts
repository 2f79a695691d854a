/**
 * Appointments end to end, every process real: through the gateway (JWT policy
 * in its sidecar) to appointment-service — two replicas, each with its daprd —
 * which verifies patients and doctors by invocation, stores in PostgreSQL and
 * publishes through the outbox to Kafka; the cleanup is fired by the real cron
 * binding (a 2-second schedule in this test profile).
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { appointmentBooked, appointmentPaid, appointmentRescheduled, appointmentsPurged, Topics } from '@caregrid/contracts';
import {
  doctorProfile,
  eventually,
  jsonClient,
  readTopic as readSharedTopic,
  readyAccount,
  startPrivateKafka,
  bootstrapAdminAuth,
  startTestStack,
  nextMonday,
  type PrivateKafka,
  type TestStack,
} from '@caregrid/devkit';

let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let auth: Record<string, string>;
let db: pg.Pool;

type Appointment = {
  id: string;
  status: string;
  start: string;
  end: string;
  patientName: string;
  doctorName: string;
  amount: number;
  currency: string;
  payment: unknown;
  version: number;
};

// Next Monday far enough ahead, in the doctor's zone (Berlin, UTC+1 in winter / +2 in summer): book by local offsets.
const berlin = (date: string, time: string) => {
  const local = new Date(`${date}T${time}:00Z`);
  const offset = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', timeZoneName: 'shortOffset' })
    .formatToParts(local)
    .find((p) => p.type === 'timeZoneName')!.value; // "GMT+1" / "GMT+2"
  return new Date(local.getTime() - Number(offset.replace('GMT', '')) * 3_600_000).toISOString();
};

let seq = 0;
async function createPatient(): Promise<string> {
  const response = await api(
    'POST',
    '/api/patients',
    { name: `Patient ${++seq}`, email: `appt.${seq}.${Date.now()}@example.org`, dateOfBirth: '1985-03-03', gender: 'other' },
    auth,
  );
  expect(response.status).toBe(201);
  return (response.body as { id: string }).id;
}

async function createDoctor(overrides: Record<string, unknown> = {}): Promise<string> {
  const response = await api('POST', '/api/doctors', doctorProfile({ timeZone: 'Europe/Berlin', ...overrides }), auth);
  expect(response.status).toBe(201);
  return (response.body as { id: string }).id;
}

const book = (patientId: string, doctorId: string, start: string, extra: Record<string, unknown> = {}, as = auth) =>
  api('POST', '/api/appointments', { patientId, doctorId, start, durationMinutes: 30, serviceType: 'consultation', ...extra }, as);

/** A patient account linked to a new patient record, signed in. */
async function patientAccount(): Promise<{ patientId: string; auth: Record<string, string> }> {
  const patientId = await createPatient();
  const credentials = { email: `self.${++seq}.${Date.now()}@example.org`, password: 'correct horse battery' };
  const account = await readyAccount(api, auth, { name: 'Self', ...credentials, roles: ['patient'], patientId });
  return { patientId, auth: account.auth };
}

// A broker of this file's own: the outage test stops it, and no other run is there to notice.
let kafka: PrivateKafka;
const readTopic = (topic: string) => readSharedTopic(topic, kafka.brokers);

beforeAll(async () => {
  kafka = await startPrivateKafka();
  stack = await startTestStack({
    kafkaBrokers: kafka.brokers,
    apps: ['gateway', 'auth-service', 'patient-service', 'doctor-service', 'appointment-service'],
    replicas: { 'appointment-service': 2 },
    // Batches of 2: the cleanup's three outdated appointments take several batches of one run.
    env: { 'appointment-service': { RETENTION_DAYS: '30', CLEANUP_MIN_INTERVAL_SECONDS: '5', CLEANUP_BATCH_SIZE: '2' } },
    componentMetadata: { 'appointment-cleanup': { schedule: '@every 2s' } },
  });
  api = jsonClient(stack.url('gateway'));
  auth = await bootstrapAdminAuth(stack);
  db = new pg.Pool({ connectionString: stack.secrets()['appointment-service']!.databaseUrl, max: 2 });
}, 180_000);

afterAll(async () => {
  await db?.end();
  await stack?.stop();
  await kafka?.remove();
});

describe('booking', () => {
  it('books through the gateway with name snapshots; the slot leaves the free list', async () => {
    const [patientId, doctorId] = [await createPatient(), await createDoctor()];
    const date = nextMonday(2);
    const before = (await api('GET', `/api/appointments/slots?doctorId=${doctorId}&date=${date}`, undefined, auth)).body as {
      slots: { start: string }[];
    };
    expect(before.slots).toHaveLength(6);
    const booked = await book(patientId, doctorId, berlin(date, '09:30'));
    expect(booked.status).toBe(201);
    expect(booked.body).toMatchObject({
      status: 'booked',
      patientName: expect.stringMatching(/^Patient/),
      doctorName: expect.stringMatching(/^Dr/),
      amount: 5000,
      currency: 'EUR',
    });
    const after = (await api('GET', `/api/appointments/slots?doctorId=${doctorId}&date=${date}`, undefined, auth)).body as {
      slots: { start: string }[];
    };
    expect(after.slots.map((s) => s.start)).not.toContain(berlin(date, '09:30'));
    expect(after.slots).toHaveLength(5);
    // Its event, written in the same statement as the row, tells what was stored.
    const record = booked.body as Appointment & { patientId: string; patientName: string; doctorName: string; specialization: string };
    const event = await eventually(() =>
      readTopic(Topics.appointments).find(
        (e) => (e as { subject?: string; type?: string }).subject === record.id && (e as { type: string }).type === appointmentBooked.type,
      ),
    );
    expect(appointmentBooked.parse(event).data).toEqual({
      appointmentId: record.id,
      patientId,
      patientName: record.patientName,
      doctorId,
      doctorName: record.doctorName,
      specialization: record.specialization,
      serviceType: 'consultation',
      start: record.start,
      end: record.end,
      status: 'booked',
      amount: 5000,
      currency: 'EUR',
      version: 1,
    });
    // Written by the service, not filled in by the contract's default.
    expect((event as { data: { version?: number } }).data.version).toBe(1);
    expect(record.version).toBe(1);
  });

  it('names the unknown record with 422', async () => {
    const [patientId, doctorId] = [await createPatient(), await createDoctor()];
    const missing = '0190f0a0-0000-7000-8000-00000000ffff';
    const start = berlin(nextMonday(2), '10:00');
    expect(await book(missing, doctorId, start)).toMatchObject({ status: 422, body: { field: 'patientId' } });
    expect(await book(patientId, missing, start)).toMatchObject({ status: 422, body: { field: 'doctorId' } });
  });

  it('refuses outside working hours, off the grid, in the past, a doctor not accepting', async () => {
    const [patientId, doctorId] = [await createPatient(), await createDoctor()];
    const date = nextMonday(2);
    expect(await book(patientId, doctorId, berlin(date, '13:00'))).toMatchObject({ status: 422, body: { rule: 'working-hours' } });
    expect(await book(patientId, doctorId, berlin(date, '09:10'))).toMatchObject({ status: 422, body: { rule: 'slot-aligned' } });
    expect(await book(patientId, doctorId, '2020-01-06T08:00:00Z')).toMatchObject({ status: 422, body: { rule: 'start-in-future' } });
    const resting = await createDoctor({ accepting: false });
    expect(await book(patientId, resting, berlin(date, '09:00'))).toMatchObject({ status: 422, body: { rule: 'doctor-accepting' } });
  });

  it('odd dates and times are 400 problem+json naming the field (PostgreSQL never sees them), odd offsets are read as UTC', async () => {
    const doctorId = await createDoctor();
    const hostile = await api('GET', `/api/appointments?from=${encodeURIComponent('0900-02-04T12:41:04.693491-17:59')}`, undefined, auth);
    expect(hostile).toMatchObject({ status: 400, body: { errors: [{ path: 'query.from' }] } });
    expect(hostile.headers.get('content-type')).toContain('application/problem+json');
    const feb30 = await api('GET', `/api/appointments/slots?doctorId=${doctorId}&date=2027-02-30`, undefined, auth);
    expect(feb30).toMatchObject({ status: 400, body: { errors: [{ path: 'query.date' }] } });
    const yearZero = await book(await createPatient(), doctorId, '0000-01-03T09:00:00Z');
    expect(yearZero).toMatchObject({ status: 400, body: { errors: [{ path: 'body.start' }] } });
    const farOffset = await api('GET', `/api/appointments?from=${encodeURIComponent('2026-03-02T09:00:00-17:59')}`, undefined, auth);
    expect(farOffset.status).toBe(200);
  });

  it('20 concurrent bookings of one slot: exactly one 201, nineteen 409 naming the taken slot', async () => {
    const doctorId = await createDoctor();
    const patients = await Promise.all(Array.from({ length: 20 }, () => createPatient()));
    const start = berlin(nextMonday(3), '11:00');
    const results = await Promise.all(patients.map((patientId) => book(patientId, doctorId, start)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, ...Array(19).fill(409)]);
    const conflict = results.find((r) => r.status === 409)!.body as { conflictWith: string; conflictingSlot: { start: string } };
    expect(conflict).toMatchObject({ conflictWith: 'doctor', conflictingSlot: { start } });
    // A refused booking leaves no trace: one appointment, one event queued for it.
    const { rows } = await db.query(
      `SELECT (SELECT count(*)::int FROM appointments WHERE doctor_id = $1) AS appointments,
              (SELECT count(*)::int FROM outbox WHERE type = $2 AND data->>'doctorId' = $1::text) AS events`,
      [doctorId, appointmentBooked.type],
    );
    expect(rows[0]).toEqual({ appointments: 1, events: 1 });
  });

  it('a patient cannot be in two places: overlapping bookings with other doctors get 409', async () => {
    const patientId = await createPatient();
    const start = berlin(nextMonday(4), '09:00');
    expect((await book(patientId, await createDoctor(), start)).status).toBe(201);
    expect(await book(patientId, await createDoctor(), start)).toMatchObject({ status: 409, body: { conflictWith: 'patient' } });
  });
});

describe("price from the doctor's tariff", () => {
  it('a patient booking their own visit with "amount": 0 gets 400 naming the field; without it, the tariff price', async () => {
    const doctorId = await createDoctor();
    const own = await patientAccount();
    const start = berlin(nextMonday(8), '09:00');
    for (const extra of [{ amount: 0 }, { amount: 5_000, currency: 'EUR' }, { currency: 'JPY' }]) {
      const refused = await book(own.patientId, doctorId, start, extra, own.auth);
      expect(refused.status).toBe(400);
      expect((refused.body as { errors: { path: string }[] }).errors.map((e) => e.path).sort()).toEqual(
        Object.keys(extra).map((field) => `body.${field}`),
      );
    }
    expect((await api('GET', `/api/appointments?patientId=${own.patientId}`, undefined, auth)).body).toMatchObject({ items: [] });
    expect(await book(own.patientId, doctorId, start, {}, own.auth)).toMatchObject({
      status: 201,
      body: { patientId: own.patientId, amount: 5_000, currency: 'EUR' },
    });
  });

  it("prices each service type by the doctor's fee in the doctor's currency", async () => {
    const doctorId = await createDoctor({ fees: { consultation: 9_000, surgery: 180_000, vaccination: 0 }, currency: 'CHF' });
    const date = nextMonday(9);
    const surgery = await book(await createPatient(), doctorId, berlin(date, '09:00'), { serviceType: 'surgery', durationMinutes: 60 });
    expect(surgery).toMatchObject({ status: 201, body: { serviceType: 'surgery', amount: 180_000, currency: 'CHF' } });
    const shot = await book(await createPatient(), doctorId, berlin(date, '10:00'), { serviceType: 'vaccination' });
    expect(shot).toMatchObject({ status: 201, body: { amount: 0, currency: 'CHF' } });
    // Paying is for that price, not the client's idea of it.
    const pay = (amount: number) =>
      api('POST', `/api/appointments/${(surgery.body as Appointment).id}/payment`, { method: 'insurance', amount }, auth);
    expect(await pay(9_000)).toMatchObject({ status: 422, body: { expected: 180_000, currency: 'CHF' } });
    expect((await pay(180_000)).status).toBe(200);
  });

  it('a service type the doctor has no fee for is 422 service-not-offered; a later fee makes it bookable', async () => {
    const [patientId, doctorId] = [await createPatient(), await createDoctor()];
    const start = berlin(nextMonday(10), '09:00');
    expect(await book(patientId, doctorId, start, { serviceType: 'surgery' })).toMatchObject({
      status: 422,
      body: { rule: 'service-not-offered', serviceType: 'surgery', offered: ['consultation', 'follow-up'] },
    });
    const bare = await createDoctor({ fees: undefined, currency: undefined });
    expect(await book(patientId, bare, start)).toMatchObject({ status: 422, body: { rule: 'service-not-offered', offered: [] } });
    expect((await api('PATCH', `/api/doctors/${doctorId}`, { fees: { surgery: 150_000 } }, auth)).status).toBe(200);
    expect(await book(patientId, doctorId, start, { serviceType: 'surgery' })).toMatchObject({ status: 201, body: { amount: 150_000 } });
  });
});

describe('lifecycle and payment', () => {
  it('booked → checked-in → fulfilled; other transitions 422; cancel needs a reason and frees the slot', async () => {
    const [patientId, doctorId] = [await createPatient(), await createDoctor()];
    const date = nextMonday(5);
    const first = (await book(patientId, doctorId, berlin(date, '09:00'))).body as Appointment;
    const status = (id: string, body: object) => api('POST', `/api/appointments/${id}/status`, body, auth);
    expect(await status(first.id, { status: 'fulfilled' })).toMatchObject({ status: 422, body: { from: 'booked', to: 'fulfilled' } });
    expect(await status(first.id, { status: 'checked-in' })).toMatchObject({ status: 200, body: { status: 'checked-in' } });
    expect(await status(first.id, { status: 'fulfilled' })).toMatchObject({ status: 200, body: { status: 'fulfilled' } });
    expect((await status(first.id, { status: 'booked' })).status).toBe(422);

    const second = (await book(patientId, doctorId, berlin(date, '10:00'))).body as Appointment;
    expect(await status(second.id, { status: 'cancelled' })).toMatchObject({ status: 422, body: { rule: 'cancellation-reason' } });
    expect(await status(second.id, { status: 'cancelled', reason: 'feeling better' })).toMatchObject({
      status: 200,
      body: { cancellationReason: 'feeling better' },
    });
    expect((await book(await createPatient(), doctorId, berlin(date, '10:00'))).status).toBe(201);
  });

  it('pays once for the exact amount and publishes appointment.paid to Kafka', async () => {
    const appointment = (await book(await createPatient(), await createDoctor(), berlin(nextMonday(2), '11:30'))).body as Appointment;
    const pay = (body: object) => api('POST', `/api/appointments/${appointment.id}/payment`, body, auth);
    expect(await pay({ method: 'credit', amount: 4999 })).toMatchObject({ status: 422, body: { expected: 5000 } });
    expect(await pay({ method: 'credit', amount: 5000 })).toMatchObject({
      status: 200,
      body: { payment: { method: 'credit', amount: 5000 } },
    });
    expect((await pay({ method: 'cash', amount: 5000 })).status).toBe(409);
    const paid = await eventually(() =>
      readTopic(Topics.appointments).find(
        (e) =>
          (e as { subject?: string; type?: string }).subject === appointment.id && (e as { type: string }).type === appointmentPaid.type,
      ),
    );
    expect(appointmentPaid.parse(paid).data).toMatchObject({
      appointmentId: appointment.id,
      amount: 5000,
      currency: 'EUR',
      paymentMethod: 'credit',
    });
  });
});

describe('moving an appointment', () => {
  const move = (id: string, body: object, as = auth) => api('POST', `/api/appointments/${id}/reschedule`, body, as);
  /** What the move left in the outbox and the row: nothing is written by a refused one. */
  const written = async (id: string) =>
    (
      await db.query<{ start: Date; version: number; moves: number }>(
        `SELECT start_at AS start, version, (SELECT count(*)::int FROM outbox WHERE subject = $1::text AND type = $2) AS moves
           FROM appointments WHERE id = $1::uuid`,
        [id, appointmentRescheduled.type],
      )
    ).rows[0]!;

  it('to a free slot: new times, version 2, the old slot free again, appointment.rescheduled on the topic; the same start again changes nothing', async () => {
    const [patientId, doctorId] = [await createPatient(), await createDoctor()];
    const date = nextMonday(12);
    const booked = (await book(patientId, doctorId, berlin(date, '09:00'))).body as Appointment;
    const moved = await move(booked.id, { start: berlin(date, '11:00'), expectedVersion: 1 });
    expect(moved).toMatchObject({ status: 200, body: { start: berlin(date, '11:00'), end: berlin(date, '11:30'), version: 2 } });
    expect((await api('GET', `/api/appointments/${booked.id}`, undefined, auth)).body).toEqual(moved.body);
    const listed = (await api('GET', `/api/appointments?doctorId=${doctorId}`, undefined, auth)).body as { items: Appointment[] };
    expect(listed.items.map((a) => [a.start, a.version])).toEqual([[berlin(date, '11:00'), 2]]);
    const fhir = (await api('GET', `/api/fhir/Appointment/${booked.id}`, undefined, auth)).body as { start: string; end: string };
    expect(fhir).toMatchObject({ start: berlin(date, '11:00'), end: berlin(date, '11:30') });
    const slots = (await api('GET', `/api/appointments/slots?doctorId=${doctorId}&date=${date}`, undefined, auth)).body as {
      slots: { start: string }[];
    };
    expect(slots.slots.map((s) => s.start)).toContain(berlin(date, '09:00'));
    expect(slots.slots.map((s) => s.start)).not.toContain(berlin(date, '11:00'));

    const event = await eventually(() =>
      readTopic(Topics.appointments).find(
        (e) =>
          (e as { subject?: string; type?: string }).subject === booked.id && (e as { type: string }).type === appointmentRescheduled.type,
      ),
    );
    expect(appointmentRescheduled.parse(event).data).toEqual({
      appointmentId: booked.id,
      patientId,
      patientName: booked.patientName,
      doctorId,
      doctorName: booked.doctorName,
      specialization: (booked as Appointment & { specialization: string }).specialization,
      serviceType: 'consultation',
      start: berlin(date, '11:00'),
      end: berlin(date, '11:30'),
      previousStart: booked.start,
      previousEnd: booked.end,
      status: 'booked',
      amount: 5000,
      currency: 'EUR',
      version: 2,
    });

    // The same start again (the retry of a client that lost the answer, say): 200, as it is, no second event.
    expect(await move(booked.id, { start: berlin(date, '11:00') })).toMatchObject({ status: 200, body: moved.body });
    expect(await written(booked.id)).toEqual({ start: new Date(berlin(date, '11:00')), version: 2, moves: 1 });
  });

  it('onto a slot the doctor or the patient has taken: 409 naming it, and nothing written', async () => {
    const [patientId, doctorId] = [await createPatient(), await createDoctor()];
    const date = nextMonday(13);
    const mine = (await book(patientId, doctorId, berlin(date, '09:00'))).body as Appointment;
    const doctorsOther = (await book(await createPatient(), doctorId, berlin(date, '10:00'))).body as Appointment;
    const patientsOther = (await book(patientId, await createDoctor(), berlin(date, '11:00'))).body as Appointment;
    expect(await move(mine.id, { start: berlin(date, '10:00') })).toMatchObject({
      status: 409,
      body: { conflictWith: 'doctor', conflictingSlot: { appointmentId: doctorsOther.id } },
    });
    expect(await move(mine.id, { start: berlin(date, '11:00') })).toMatchObject({
      status: 409,
      body: { conflictWith: 'patient', conflictingSlot: { appointmentId: patientsOther.id } },
    });
    expect(await written(mine.id)).toEqual({ start: new Date(mine.start), version: 1, moves: 0 });
  });

  it('from a stale version: 409 naming both, and nothing written', async () => {
    const date = nextMonday(14);
    const booked = (await book(await createPatient(), await createDoctor(), berlin(date, '09:00'))).body as Appointment;
    expect((await move(booked.id, { start: berlin(date, '09:30'), expectedVersion: 1 })).status).toBe(200);
    // A second client, still looking at version 1, wants it at 10:00.
    expect(await move(booked.id, { start: berlin(date, '10:00'), expectedVersion: 1 })).toMatchObject({
      status: 409,
      body: { expectedVersion: 1, currentVersion: 2 },
    });
    expect(await written(booked.id)).toEqual({ start: new Date(berlin(date, '09:30')), version: 2, moves: 1 });
  });

  it('only a booked appointment moves (422 for a cancelled or checked-in one), under the booking rules', async () => {
    const [patientId, doctorId] = [await createPatient(), await createDoctor()];
    const date = nextMonday(15);
    const status = (id: string, body: object) => api('POST', `/api/appointments/${id}/status`, body, auth);
    const cancelled = (await book(patientId, doctorId, berlin(date, '09:00'))).body as Appointment;
    expect((await status(cancelled.id, { status: 'cancelled', reason: 'away' })).status).toBe(200);
    expect(await move(cancelled.id, { start: berlin(date, '10:00') })).toMatchObject({
      status: 422,
      body: { rule: 'move-booked-only', from: 'cancelled' },
    });
    const arrived = (await book(patientId, doctorId, berlin(date, '09:30'))).body as Appointment;
    expect((await status(arrived.id, { status: 'checked-in' })).status).toBe(200);
    expect(await move(arrived.id, { start: berlin(date, '10:00') })).toMatchObject({ status: 422, body: { rule: 'move-booked-only' } });

    const booked = (await book(patientId, doctorId, berlin(date, '11:00'))).body as Appointment;
    expect(await move(booked.id, { start: berlin(date, '13:00') })).toMatchObject({ status: 422, body: { rule: 'working-hours' } });
    expect(await move(booked.id, { start: berlin(date, '10:10') })).toMatchObject({ status: 422, body: { rule: 'slot-aligned' } });
    expect(await move(booked.id, { start: '2020-01-06T08:00:00Z' })).toMatchObject({ status: 422, body: { rule: 'start-in-future' } });
    expect(await move(booked.id, { start: berlin(date, '10:00'), end: berlin(date, '11:00') })).toMatchObject({
      status: 400,
      body: { errors: [{ path: 'body' }] },
    });
    for (const appointment of [cancelled, arrived, booked]) expect((await written(appointment.id)).moves).toBe(0);
  });

  it("a patient moves their own appointment, never another patient's (404, as for reading it)", async () => {
    const doctorId = await createDoctor();
    const [own, other] = [await patientAccount(), await patientAccount()];
    const date = nextMonday(16);
    const theirs = (await book(other.patientId, doctorId, berlin(date, '09:00'))).body as Appointment;
    expect((await move(theirs.id, { start: berlin(date, '10:00') }, own.auth)).status).toBe(404);
    expect((await api('GET', `/api/appointments/${theirs.id}`, undefined, own.auth)).status).toBe(404);
    expect(await written(theirs.id)).toEqual({ start: new Date(theirs.start), version: 1, moves: 0 });
    const mine = (await book(own.patientId, doctorId, berlin(date, '11:00'), {}, own.auth)).body as Appointment;
    expect(await move(mine.id, { start: berlin(date, '11:30') }, own.auth)).toMatchObject({ status: 200, body: { version: 2 } });
  });

  it('retried with its Idempotency-Key: the first answer again, moved once', async () => {
    const date = nextMonday(17);
    const booked = (await book(await createPatient(), await createDoctor(), berlin(date, '09:00'))).body as Appointment;
    const keyed = { ...auth, 'idempotency-key': `move-${booked.id}` };
    const first = await move(booked.id, { start: berlin(date, '10:00'), expectedVersion: 1 }, keyed);
    const again = await move(booked.id, { start: berlin(date, '10:00'), expectedVersion: 1 }, keyed);
    expect(first).toMatchObject({ status: 200, body: { version: 2 } });
    expect(again).toMatchObject({ status: 200, body: first.body });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await written(booked.id)).toEqual({ start: new Date(berlin(date, '10:00')), version: 2, moves: 1 });
  });

  it('is in the API document', async () => {
    const document = (await api('GET', '/docs/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(document.paths['/api/appointments/{id}/reschedule'] ?? {})).toEqual(['post']);
  });
});

describe('cleanup by the cron binding, two replicas firing', () => {
  it('archives exactly the appointments that ended before the retention cutoff, one run at a time, and reports it', async () => {
    const columns = `(id, patient_id, doctor_id, patient_name, doctor_name, specialization, start_at, end_at, service_type, amount, currency, status)`;
    const seed = (id: string, daysAgo: number) =>
      db.query(
        `INSERT INTO appointments ${columns} VALUES ($1, gen_random_uuid(), gen_random_uuid(), 'P', 'D', 'cardiology',
           now() - make_interval(days => $2) - interval '30 minutes', now() - make_interval(days => $2), 'checkup', 100, 'EUR', 'fulfilled')`,
        [id, daysAgo],
      );
    const old = ['0190f0a0-0000-7000-8000-0000000c1e01', '0190f0a0-0000-7000-8000-0000000c1e02', '0190f0a0-0000-7000-8000-0000000c1e03'];
    const recent = '0190f0a0-0000-7000-8000-0000000c1e04';
    const seededAt = new Date();
    await Promise.all([...old.map((id) => seed(id, 45)), seed(recent, 5)]);

    const archivedIds = await eventually(async () => {
      const { rows } = await db.query<{ id: string }>('SELECT id FROM appointments_archive WHERE id = ANY($1) ORDER BY id', [
        [...old, recent],
      ]);
      return rows.length === old.length ? rows.map((r) => r.id) : undefined;
    }, 30_000);
    expect(archivedIds).toEqual(old);
    expect((await db.query('SELECT 1 FROM appointments WHERE id = $1', [recent])).rowCount).toBe(1);

    // Both replicas fire every 2 s, yet runs are at least the 5-s minimum interval apart.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const { rows: runs } = await db.query<{ started_at: Date; archived: number }>(
      'SELECT started_at, archived FROM cleanup_runs ORDER BY started_at',
    );
    for (let i = 1; i < runs.length; i++)
      expect(runs[i]!.started_at.getTime() - runs[i - 1]!.started_at.getTime()).toBeGreaterThanOrEqual(5_000);
    expect(runs.reduce((sum, run) => sum + run.archived, 0)).toBe(old.length);

    const purged = await eventually(() => {
      const reports = readTopic(Topics.appointments)
        .filter((e) => (e as { type?: string }).type === appointmentsPurged.type)
        .map((e) => appointmentsPurged.parse(e).data)
        .filter((d) => new Date(d.runAt) >= seededAt && d.archived > 0);
      return reports.length > 0 ? reports : undefined;
    });
    expect(purged).toHaveLength(1);
    expect(purged[0]!.archived).toBe(old.length);
  });

  it('an admin can trigger it through the gateway; others get 403', async () => {
    const response = await api('POST', '/api/appointments/cleanup', undefined, auth);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ ran: expect.any(Boolean), archived: expect.any(Number) });
  });
});

describe('failures', () => {
  it('an event written while Kafka is down is published once it is back', async () => {
    const [patientId, doctorId] = [await createPatient(), await createDoctor()];
    await kafka.stop();
    let appointmentId: string;
    try {
      const booked = await book(patientId, doctorId, berlin(nextMonday(6), '09:00'));
      expect(booked.status).toBe(201);
      appointmentId = (booked.body as Appointment).id;
      const { rows } = await db.query('SELECT count(*)::int AS n FROM outbox WHERE subject = $1 AND published_at IS NULL', [appointmentId]);
      expect(rows[0].n).toBe(1);
    } finally {
      await kafka.start();
    }
    const event = await eventually(
      () => readTopic(Topics.appointments).find((e) => (e as { subject?: string }).subject === appointmentId),
      90_000,
    );
    expect(event).toMatchObject({ type: 'caregrid.appointment.booked.v1' });
  }, 180_000);

  it('a doctor record outside the contract (a fractional fee) is a 503 naming doctor-service, and nothing is booked', async () => {
    const [patientId, doctorId] = [await createPatient(), await createDoctor()];
    const doctors = await mysql.createConnection(stack.secrets()['doctor-service']!.databaseUrl!);
    try {
      await doctors.execute(`UPDATE doctors SET fees = '{"consultation": 49.5}' WHERE id = ?`, [doctorId]);
    } finally {
      await doctors.end();
    }
    const response = await book(patientId, doctorId, berlin(nextMonday(11), '09:00'));
    expect(response).toMatchObject({ status: 503, body: { dependency: 'doctor-service' } });
    const { rows } = await db.query('SELECT count(*)::int AS n FROM appointments WHERE doctor_id = $1', [doctorId]);
    expect(rows[0].n).toBe(0);
  });

  it('a dead peer answers 503 fast, never a hang', async () => {
    const patientId = await createPatient();
    const doctorId = await createDoctor();
    await stack.member('doctor-service').process.stop();
    await stack.member('doctor-service').sidecar.stop();
    const started = Date.now();
    const response = await book(patientId, doctorId, berlin(nextMonday(7), '09:00'));
    expect(response.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
