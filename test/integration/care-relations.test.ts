/**
 * Care relations end, every process real: appointment-service books, moves and cancels through
 * the gateway, its outbox publishes to Kafka, and patient-service's subscription decides whether
 * a doctor may read the patient (`GET /api/patients/:id`, and the FHIR read). Events that arrive
 * redelivered or out of order are published through appointment-service's sidecar, as
 * billing-analytics.test.ts does.
 *
 * When patient-service has taken in an event is seen through a sentinel: a booking of a fresh
 * patient with a second doctor, published after it on the same partition (the local broker has
 * one, and a partition is delivered in order). Once that doctor reads the sentinel patient,
 * every appointment event before it has been handled.
 */
import { randomUUID } from 'node:crypto';
import { Topics, type AppointmentRecord } from '@caregrid/contracts';
import {
  doctorProfile,
  eventually,
  jsonClient,
  readyAccount,
  bootstrapAdminAuth,
  startTestStack,
  PASSWORD,
  unique,
  expectStatus,
  type TestStack,
} from '@caregrid/devkit';

let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let admin: Record<string, string>;

/** As appointment-service answers it (its contract). */
type Appointment = AppointmentRecord;

async function createPatient(): Promise<string> {
  const body = { name: unique('Cared'), email: `${unique('cared')}@example.org`, dateOfBirth: '1975-03-04', gender: 'other' };
  return (expectStatus(await api('POST', '/api/patients', body, admin), 201).body as { id: string }).id;
}

/** A doctor open every day, all day (UTC), and their signed-in account. */
async function doctorWithAccount(): Promise<{ id: string; as: Record<string, string> }> {
  const everyDay = Object.fromEntries(
    ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [{ start: '00:00', end: '23:30' }]]),
  );
  const profile = doctorProfile({ workingHours: everyDay, fees: { consultation: 8000 } });
  const id = (expectStatus(await api('POST', '/api/doctors', profile, admin), 201).body as { id: string }).id;
  const email = `${unique('doctor')}@example.org`;
  const account = await readyAccount(api, admin, { email, password: PASSWORD, roles: ['doctor'], doctorId: id });
  return { id, as: account.auth };
}

// Distinct future slots on the 30-minute grid.
let slot = 0;
const nextSlot = () => new Date(Date.UTC(new Date().getUTCFullYear() + 1, 1, 10, 0, 0) + ++slot * 30 * 60_000).toISOString();

async function book(patientId: string, doctorId: string): Promise<Appointment> {
  const body = { patientId, doctorId, start: nextSlot(), durationMinutes: 30, serviceType: 'consultation' };
  return expectStatus(await api('POST', '/api/appointments', body, admin), 201).body as Appointment;
}

async function cancel(appointment: Appointment): Promise<void> {
  const cancelled = await api(
    'POST',
    `/api/appointments/${appointment.id}/status`,
    { status: 'cancelled', reason: 'feeling better' },
    admin,
  );
  expectStatus(cancelled, 200);
}

/** What a doctor gets for a patient's record: the JSON API's status and FHIR's. */
async function readsAs(doctor: { as: Record<string, string> }, patientId: string): Promise<[number, number]> {
  const json = await api('GET', `/api/patients/${patientId}`, undefined, doctor.as);
  const fhir = await api('GET', `/api/fhir/Patient/${patientId}`, undefined, doctor.as);
  return [json.status, fhir.status];
}

const becomes = (doctor: { as: Record<string, string> }, patientId: string, status: number) =>
  eventually(async () => {
    const statuses = await readsAs(doctor, patientId);
    return statuses.every((s) => s === status) ? statuses : undefined;
  });

/** An appointment event as appointment-service publishes it (a snapshot of the appointment). */
function appointmentEvent(type: 'booked' | 'cancelled', a: Appointment) {
  const data = {
    appointmentId: a.id,
    patientId: a.patientId,
    patientName: a.patientName,
    doctorId: a.doctorId,
    doctorName: a.doctorName,
    specialization: a.specialization,
    serviceType: a.serviceType,
    start: a.start,
    end: a.end,
    status: type,
    amount: a.amount,
    currency: a.currency,
    version: a.version,
  };
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: 'appointment-service',
    type: `caregrid.appointment.${type}.v1`,
    time: new Date().toISOString(),
    subject: a.id,
    datacontenttype: 'application/json',
    data: type === 'cancelled' ? { ...data, reason: 'feeling better' } : data,
  };
}

/** Publishes a CloudEvent through appointment-service's sidecar (it owns the topic), keyed as its outbox keys them. */
async function publish(event: object, partitionKey: string): Promise<void> {
  const port = stack.member('appointment-service').app.daprHttpPort;
  const response = await fetch(
    `http://127.0.0.1:${port}/v1.0/publish/events/${Topics.appointments}?metadata.partitionKey=${partitionKey}`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(event),
    },
  );
  expect(response.status).toBe(204);
}

let sentinelDoctor: { id: string; as: Record<string, string> };
let sentinelTemplate: Appointment;

/** Waits until patient-service has handled every appointment event published so far (see the file's comment). */
async function settled(partitionKey: string): Promise<void> {
  await eventually(async () => {
    const backlog = (await api('GET', '/api/ops/appointment-service/backlog', undefined, admin)).body as { outbox?: { pending: number } };
    return backlog.outbox?.pending === 0 ? true : undefined;
  });
  const patientId = await createPatient();
  await publish(
    appointmentEvent('booked', { ...sentinelTemplate, id: randomUUID(), patientId, doctorId: sentinelDoctor.id }),
    partitionKey,
  );
  await becomes(sentinelDoctor, patientId, 200);
}

beforeAll(async () => {
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service', 'doctor-service', 'appointment-service'],
    env: { gateway: { RATE_LIMIT_PER_MINUTE: '100000' } },
  });
  api = jsonClient(stack.url('gateway'));
  admin = await bootstrapAdminAuth(stack);
  sentinelDoctor = await doctorWithAccount();
  sentinelTemplate = await book(await createPatient(), sentinelDoctor.id);
}, 240_000);

afterAll(() => stack?.stop());

describe('a care relation ends with the last booking cancelled before it took place', () => {
  it('cancelling the only booking takes the patient from the doctor; the booking redelivered after it does not bring them back', async () => {
    const doctor = await doctorWithAccount();
    const patientId = await createPatient();
    const appointment = await book(patientId, doctor.id);
    await becomes(doctor, patientId, 200);

    await cancel(appointment);
    expect(await becomes(doctor, patientId, 404)).toEqual([404, 404]);

    // At least once: the booking again, after its cancellation.
    await publish(appointmentEvent('booked', appointment), appointment.id);
    await settled(appointment.id);
    expect(await readsAs(doctor, patientId)).toEqual([404, 404]);
  });

  it('with two bookings, a move and the cancellation of the other keep the relation; cancelling the last ends it', async () => {
    const doctor = await doctorWithAccount();
    const patientId = await createPatient();
    const [kept, dropped] = [await book(patientId, doctor.id), await book(patientId, doctor.id)];
    await becomes(doctor, patientId, 200);

    const moved = await api('POST', `/api/appointments/${kept.id}/reschedule`, { start: nextSlot() }, admin);
    expect(expectStatus(moved, 200).body).toMatchObject({ version: 2 });
    await cancel(dropped);
    await settled(dropped.id);
    expect(await readsAs(doctor, patientId)).toEqual([200, 200]);

    await cancel(kept);
    expect(await becomes(doctor, patientId, 404)).toEqual([404, 404]);
  });

  it('a cancellation handled before its booking leaves no relation', async () => {
    const doctor = await doctorWithAccount();
    const patientId = await createPatient();
    // An appointment appointment-service never stored: only its events exist, in the wrong order.
    const appointment: Appointment = { ...sentinelTemplate, id: randomUUID(), patientId, doctorId: doctor.id };
    await publish(appointmentEvent('cancelled', appointment), appointment.id);
    await settled(appointment.id);
    await publish(appointmentEvent('booked', appointment), appointment.id);
    await settled(appointment.id);
    expect(await readsAs(doctor, patientId)).toEqual([404, 404]);
  });
});
