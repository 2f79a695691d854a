/**
 * Idempotency-Key on the POSTs that book, pay and register, end to end: a client through the
 * gateway (JWT policy in its sidecar, the header passed on) to appointment-service and
 * patient-service, each with its own PostgreSQL. A client whose request timed out retries with
 * the same key and gets the first answer: never a second booking, payment or patient, never a
 * 409 for its own booking.
 */
import pg from 'pg';
import { appointmentPaid, auditRecorded } from '@caregrid/contracts';
import {
  doctorProfile,
  eventually,
  jsonClient,
  readyAccount,
  startTestStack,
  nextMonday,
  type HttpResult,
  type TestStack,
} from '@caregrid/devkit';

let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let admin: Record<string, string>;
let receptionist: Record<string, string>;
let appointmentsDb: pg.Pool;
let patientsDb: pg.Pool;

type Appointment = { id: string; patientId: string; doctorId: string; start: string; payment: unknown };

// doctorProfile's doctors work Mondays 09:00–12:00 UTC.
const at = (weeksAhead: number, time: string) => `${nextMonday(weeksAhead)}T${time}:00.000Z`;

let seq = 0;
const newKey = () => `key-${Date.now()}-${++seq}`;
const keyed = (key: string, as = admin) => ({ ...as, 'idempotency-key': key });

const patientBody = () => ({
  name: `Patient ${++seq}`,
  email: `idem.${seq}.${Date.now()}@example.org`,
  dateOfBirth: '1985-03-03',
  gender: 'other',
});

async function createPatient(): Promise<string> {
  const response = await api('POST', '/api/patients', patientBody(), admin);
  expect(response.status).toBe(201);
  return (response.body as { id: string }).id;
}

async function createDoctor(): Promise<string> {
  const response = await api('POST', '/api/doctors', doctorProfile(), admin);
  expect(response.status).toBe(201);
  return (response.body as { id: string }).id;
}

const bookingBody = (patientId: string, doctorId: string, start: string) => ({
  patientId,
  doctorId,
  start,
  durationMinutes: 30,
  serviceType: 'consultation',
});

const appointmentRows = async (doctorId: string) =>
  Number((await appointmentsDb.query('SELECT count(*) FROM appointments WHERE doctor_id = $1', [doctorId])).rows[0].count);

const replayed = (response: HttpResult) => response.headers.get('idempotent-replayed');

/** Blocks every insert into appointments (a SHARE lock in an open transaction) until the returned release. */
async function holdAppointmentInserts(): Promise<() => Promise<void>> {
  const blocker = await appointmentsDb.connect();
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE appointments IN SHARE MODE');
  return async () => {
    await blocker.query('COMMIT');
    blocker.release();
  };
}

/** Until the first request with this key has claimed it and not answered yet. */
const inFlight = (key: string) =>
  eventually(async () => {
    const { rowCount } = await appointmentsDb.query('SELECT 1 FROM idempotency_keys WHERE key = $1 AND status IS NULL', [key]);
    return rowCount ? true : undefined;
  }, 10_000);

beforeAll(async () => {
  stack = await startTestStack({ apps: ['gateway', 'auth-service', 'patient-service', 'doctor-service', 'appointment-service'] });
  api = jsonClient(stack.url('gateway'));
  const secret = stack.secrets()['auth-service']!;
  const login = async (email: string, password: string) => {
    const response = await api('POST', '/api/auth/login', { email, password });
    return { authorization: `Bearer ${(response.body as { accessToken: string }).accessToken}` };
  };
  admin = await login(secret.bootstrapAdminEmail!, secret.bootstrapAdminPassword!);
  const desk = { email: `desk.${Date.now()}@example.org`, password: 'correct horse battery' };
  receptionist = (await readyAccount(api, admin, { name: 'Desk', ...desk, roles: ['receptionist'] })).auth;
  appointmentsDb = new pg.Pool({ connectionString: stack.secrets()['appointment-service']!.databaseUrl, max: 3 });
  patientsDb = new pg.Pool({ connectionString: stack.secrets()['patient-service']!.databaseUrl, max: 2 });
}, 180_000);

afterAll(async () => {
  await appointmentsDb?.end();
  await patientsDb?.end();
  await stack?.stop();
});

describe('bookings', () => {
  it('POSTed twice with one key: the second answer is the first (201, same id, same Location), one appointment', async () => {
    const [patientId, doctorId] = [await createPatient(), await createDoctor()];
    const key = newKey();
    const body = bookingBody(patientId, doctorId, at(2, '09:00'));
    const first = await api('POST', '/api/appointments', body, keyed(key));
    const second = await api('POST', '/api/appointments', body, keyed(key));
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('location')).toBe(first.headers.get('location'));
    expect(replayed(first)).toBeNull();
    expect(replayed(second)).toBe('true');
    expect(await appointmentRows(doctorId)).toBe(1);
    // The replay is an access of its own in the audit trail, naming the same patient and record.
    const id = (first.body as Appointment).id;
    const { rows } = await appointmentsDb.query<{ data: { status: number; patientIds: string[]; action: string } }>(
      "SELECT data FROM outbox WHERE type = $1 AND data->>'resourceId' = $2 ORDER BY created_at",
      [auditRecorded.type, id],
    );
    expect(rows.map((row) => row.data)).toEqual([
      expect.objectContaining({ action: 'create', status: 201, patientIds: [patientId] }),
      expect.objectContaining({ action: 'create', status: 201, patientIds: [patientId] }),
    ]);
  });

  it('two concurrent POSTs with one key: one booking, both answers 201 with the same id', async () => {
    const [patientId, doctorId] = [await createPatient(), await createDoctor()];
    const key = newKey();
    const body = bookingBody(patientId, doctorId, at(2, '10:00'));
    // The first request is held at its insert, so the others surely arrive while it runs.
    const release = await holdAppointmentInserts();
    const first = api('POST', '/api/appointments', body, keyed(key));
    await inFlight(key);
    const retries = [api('POST', '/api/appointments', body, keyed(key)), api('POST', '/api/appointments', body, keyed(key))];
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await release();
    const answers = await Promise.all([first, ...retries]);
    expect(answers.map((answer) => answer.status)).toEqual([201, 201, 201]);
    expect(new Set(answers.map((answer) => (answer.body as Appointment).id)).size).toBe(1);
    expect(answers.map(replayed)).toEqual([null, 'true', 'true']);
    expect(await appointmentRows(doctorId)).toBe(1);
  });

  it('a retry waits a few seconds for a first request still running, then 409 Retry-After; later it gets the first answer', async () => {
    const [patientId, doctorId] = [await createPatient(), await createDoctor()];
    const key = newKey();
    const body = bookingBody(patientId, doctorId, at(2, '10:30'));
    const release = await holdAppointmentInserts();
    const first = api('POST', '/api/appointments', body, keyed(key));
    await inFlight(key);
    const early = await api('POST', '/api/appointments', body, keyed(key));
    await release();
    expect(early).toMatchObject({ status: 409, body: { rule: 'idempotency-key-in-flight' } });
    expect(early.headers.get('retry-after')).toBe('1');
    expect((await first).status).toBe(201);
    const later = await api('POST', '/api/appointments', body, keyed(key));
    expect(later).toMatchObject({ status: 201, body: (await first).body as object });
    expect(await appointmentRows(doctorId)).toBe(1);
  });

  it('the key reused with another body: 422 idempotency-key-reused, nothing booked', async () => {
    const [patientId, doctorId] = [await createPatient(), await createDoctor()];
    const key = newKey();
    expect((await api('POST', '/api/appointments', bookingBody(patientId, doctorId, at(2, '09:00')), keyed(key))).status).toBe(201);
    const other = await api('POST', '/api/appointments', bookingBody(patientId, doctorId, at(2, '11:00')), keyed(key));
    expect(other).toMatchObject({ status: 422, body: { rule: 'idempotency-key-reused' } });
    expect(other.headers.get('content-type')).toContain('application/problem+json');
    expect(await appointmentRows(doctorId)).toBe(1);
  });

  it("another user's request with the same key is processed as theirs, not answered with the first user's", async () => {
    const doctorId = await createDoctor();
    const key = newKey();
    const mine = await api('POST', '/api/appointments', bookingBody(await createPatient(), doctorId, at(2, '09:00')), keyed(key));
    const theirs = await api(
      'POST',
      '/api/appointments',
      bookingBody(await createPatient(), doctorId, at(2, '09:30')),
      keyed(key, receptionist),
    );
    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect((theirs.body as Appointment).id).not.toBe((mine.body as Appointment).id);
    expect(replayed(theirs)).toBeNull();
    expect(await appointmentRows(doctorId)).toBe(2);
  });

  it('a stored 4xx is the answer to the retry too: the slot taken by someone else stays 409 for that key', async () => {
    const doctorId = await createDoctor();
    const start = at(2, '11:30');
    expect((await api('POST', '/api/appointments', bookingBody(await createPatient(), doctorId, start), admin)).status).toBe(201);
    const key = newKey();
    const body = bookingBody(await createPatient(), doctorId, start);
    const refused = await api('POST', '/api/appointments', body, keyed(key));
    const again = await api('POST', '/api/appointments', body, keyed(key));
    expect(refused).toMatchObject({ status: 409, body: { conflictWith: 'doctor' } });
    expect(again).toMatchObject({ status: 409, body: refused.body as object });
    expect(replayed(again)).toBe('true');
  });

  it('FHIR Appointment create retried with its key: one booking, the same resource', async () => {
    const [patientId, doctorId] = [await createPatient(), await createDoctor()];
    const key = newKey();
    const start = at(3, '09:00');
    const resource = {
      resourceType: 'Appointment',
      status: 'booked',
      start,
      end: new Date(Date.parse(start) + 30 * 60_000).toISOString(),
      serviceType: [{ coding: [{ system: 'urn:caregrid:service-type', code: 'consultation' }] }],
      participant: [{ actor: { reference: `Patient/${patientId}` } }, { actor: { reference: `Practitioner/${doctorId}` } }],
    };
    const headers = { ...keyed(key), 'content-type': 'application/fhir+json' };
    const first = await api('POST', '/api/fhir/Appointment', resource, headers);
    const second = await api('POST', '/api/fhir/Appointment', resource, headers);
    expect(first.status).toBe(201);
    expect(second).toMatchObject({ status: 201, body: first.body as object });
    expect(second.headers.get('content-type')).toContain('application/fhir+json');
    expect(replayed(second)).toBe('true');
    expect(await appointmentRows(doctorId)).toBe(1);
  });

  it('a key that is not 1–255 printable ASCII characters is 400, and nothing is booked', async () => {
    const [patientId, doctorId] = [await createPatient(), await createDoctor()];
    const body = bookingBody(patientId, doctorId, at(2, '09:00'));
    const tooLong = await api('POST', '/api/appointments', body, keyed('k'.repeat(256)));
    expect(tooLong).toMatchObject({ status: 400, body: { errors: [{ path: 'header.idempotency-key' }] } });
    expect(await appointmentRows(doctorId)).toBe(0);
  });
});

describe('payments', () => {
  it('retried with its key: one payment, the same 200 answer, no 409', async () => {
    const booked = await api('POST', '/api/appointments', bookingBody(await createPatient(), await createDoctor(), at(2, '09:00')), admin);
    const appointment = booked.body as Appointment;
    const key = newKey();
    const pay = () =>
      api('POST', `/api/appointments/${appointment.id}/payment`, { method: 'credit', amount: 5000 }, keyed(key, receptionist));
    const first = await pay();
    const second = await pay();
    expect(first).toMatchObject({ status: 200, body: { payment: { method: 'credit', amount: 5000 } } });
    expect(second).toMatchObject({ status: 200, body: first.body as object });
    expect(replayed(second)).toBe('true');
    const { rows } = await appointmentsDb.query('SELECT count(*)::int AS n FROM outbox WHERE type = $1 AND subject = $2', [
      appointmentPaid.type,
      appointment.id,
    ]);
    expect(rows[0]).toEqual({ n: 1 });
    // Without the key, a second payment is what it always was: 409 already paid.
    expect(
      (await api('POST', `/api/appointments/${appointment.id}/payment`, { method: 'credit', amount: 5000 }, receptionist)).status,
    ).toBe(409);
  });
});

describe('patients', () => {
  it('a registration retried with its key: one patient, the same 201 answer', async () => {
    const key = newKey();
    const body = patientBody();
    const first = await api('POST', '/api/patients', body, keyed(key, receptionist));
    const second = await api('POST', '/api/patients', body, keyed(key, receptionist));
    expect(first.status).toBe(201);
    expect(second).toMatchObject({ status: 201, body: first.body as object });
    expect(second.headers.get('location')).toBe(first.headers.get('location'));
    expect(replayed(second)).toBe('true');
    const { rows } = await patientsDb.query('SELECT count(*)::int AS n FROM patients WHERE email = $1', [body.email]);
    expect(rows[0]).toEqual({ n: 1 });
  });
});
