/**
 * Booking limits against a patient who wants to block a doctor (issue 28), every process real:
 * through the gateway and the sidecars to appointment-service on PostgreSQL, with the default
 * settings (BOOKING_HORIZON_DAYS 180, MAX_OPEN_BOOKINGS_PER_PATIENT 10). The horizon, a patient's
 * booking being one slot of the doctor's grid, the cap on a patient's open future bookings (under
 * concurrent bookings too), FHIR commands under the JSON API's contracts, and a 409 that names
 * only appointments the caller may see.
 */
import pg from 'pg';
import {
  doctorProfile,
  jsonClient,
  readyAccount,
  bootstrapAdminAuth,
  startTestStack,
  unique,
  expectStatus,
  type HttpResult,
  type TestStack,
} from '@caregrid/devkit';

let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let admin: Record<string, string>;
let db: pg.Pool;

const DAY = 86_400_000;
let seq = 0;

/** A date `days` from today (UTC), as yyyy-mm-dd. */
const dateIn = (days: number) => new Date(Date.now() + days * DAY).toISOString().slice(0, 10);
/** The doctors here work 08:00–16:00 UTC every day, in 30-minute slots. */
const at = (date: string, time: string) => new Date(`${date}T${time}:00Z`).toISOString();
const plusMinutes = (start: string, minutes: number) => new Date(Date.parse(start) + minutes * 60_000).toISOString();
/** The `index`-th 30-minute slot of a date from 08:00. */
const slot = (date: string, index: number) => plusMinutes(at(date, '08:00'), index * 30);

/** A 422 problem+json naming the rule broken. */
function expectRule(response: HttpResult, rule: string): Record<string, unknown> {
  expect({ status: response.status, body: response.body }).toMatchObject({ status: 422, body: { rule } });
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  return response.body as Record<string, unknown>;
}

async function createPatient(): Promise<string> {
  const body = { name: `Patient ${++seq}`, email: `${unique('limits')}@example.org`, dateOfBirth: '1985-03-03', gender: 'other' };
  return (expectStatus(await api('POST', '/api/patients', body, admin), 201).body as { id: string }).id;
}

async function createDoctor(): Promise<string> {
  const workingHours = Object.fromEntries(
    ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [{ start: '08:00', end: '16:00' }]]),
  );
  return (expectStatus(await api('POST', '/api/doctors', doctorProfile({ workingHours }), admin), 201).body as { id: string }).id;
}

/** A patient account linked to a new patient record, signed in. */
async function patientAccount(): Promise<{ patientId: string; auth: Record<string, string> }> {
  const patientId = await createPatient();
  const credentials = { email: `${unique('self')}@example.org`, password: 'correct horse battery' };
  const account = await readyAccount(api, admin, { name: 'Self', ...credentials, roles: ['patient'], patientId });
  return { patientId, auth: account.auth };
}

const book = (as: Record<string, string>, patientId: string, doctorId: string, start: string, end = plusMinutes(start, 30)) =>
  api('POST', '/api/appointments', { patientId, doctorId, start, end, serviceType: 'consultation' }, as);

/** A FHIR request through the gateway: fhir+json in and out. */
async function fhir(method: string, url: string, as: Record<string, string>, body: unknown) {
  const response = await fetch(`${stack.url('gateway')}${url}`, {
    method,
    headers: { accept: 'application/fhir+json', 'content-type': 'application/fhir+json', ...as },
    body: JSON.stringify(body),
  });
  expect(response.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { id: string } };
}

const fhirBooking = (patientId: string, doctorId: string, start: string, end: string, reason = 'Chest pain') => ({
  resourceType: 'Appointment',
  status: 'booked',
  serviceType: [{ coding: [{ system: 'urn:caregrid:service-type', code: 'consultation' }] }],
  reasonCode: [{ text: reason }],
  start,
  end,
  participant: [{ actor: { reference: `Patient/${patientId}` } }, { actor: { reference: `Practitioner/${doctorId}` } }],
});

type Outcome = { resourceType: string; issue: { code: string; diagnostics?: string; expression?: string[] }[] };

beforeAll(async () => {
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service', 'doctor-service', 'appointment-service'],
    // The production default: test stacks otherwise lift it for the other tests' fixed dates.
    env: { 'appointment-service': { BOOKING_HORIZON_DAYS: '180' } },
  });
  api = jsonClient(stack.url('gateway'));
  admin = await bootstrapAdminAuth(stack);
  db = new pg.Pool({ connectionString: stack.secrets()['appointment-service']!.databaseUrl, max: 2 });
}, 180_000);

afterAll(async () => {
  await db?.end();
  await stack?.stop();
});

describe('the booking horizon (180 days by default)', () => {
  it("a patient's 08:00–16:00 on 2999-01-07 is refused (422 booking-horizon), a slot in it too, nothing stored", async () => {
    const [own, doctorId] = [await patientAccount(), await createDoctor()];
    const body = expectRule(
      await book(own.auth, own.patientId, doctorId, at('2999-01-07', '08:00'), at('2999-01-07', '16:00')),
      'booking-horizon',
    );
    expect(body).toMatchObject({ horizonDays: 180, latestStart: expect.any(String) });
    expectRule(await book(own.auth, own.patientId, doctorId, at('2999-01-07', '08:00')), 'booking-horizon');
    // Staff are held to it too, a day past it; a day before it books.
    expectRule(await book(admin, own.patientId, doctorId, at(dateIn(181), '08:00')), 'booking-horizon');
    expectStatus(await book(own.auth, own.patientId, doctorId, at(dateIn(179), '08:00')), 201);
    const { rows } = await db.query('SELECT count(*)::int AS n FROM appointments WHERE doctor_id = $1', [doctorId]);
    expect(rows[0]).toEqual({ n: 1 });
  });

  it('a move beyond it is refused, and the appointment stays where it was', async () => {
    const [own, doctorId] = [await patientAccount(), await createDoctor()];
    const booked = expectStatus(await book(own.auth, own.patientId, doctorId, at(dateIn(10), '09:00')), 201).body as {
      id: string;
      start: string;
    };
    expectRule(
      await api('POST', `/api/appointments/${booked.id}/reschedule`, { start: at('2999-01-07', '09:00') }, own.auth),
      'booking-horizon',
    );
    expectRule(
      await api('POST', `/api/appointments/${booked.id}/reschedule`, { start: at(dateIn(181), '09:00') }, admin),
      'booking-horizon',
    );
    expect((await api('GET', `/api/appointments/${booked.id}`, undefined, own.auth)).body).toMatchObject({
      start: booked.start,
      version: 1,
    });
  });
});

describe("a patient's booking is one slot of the doctor's grid", () => {
  it('a patient: the whole day, two slots or off the grid are refused; one slot books', async () => {
    const [own, doctorId] = [await patientAccount(), await createDoctor()];
    const date = dateIn(14);
    expectRule(await book(own.auth, own.patientId, doctorId, at(date, '08:00'), at(date, '16:00')), 'one-slot');
    expectRule(await book(own.auth, own.patientId, doctorId, at(date, '08:00'), at(date, '09:00')), 'one-slot');
    expectRule(await book(own.auth, own.patientId, doctorId, at(date, '08:10'), at(date, '08:40')), 'slot-aligned');
    expectStatus(await book(own.auth, own.patientId, doctorId, at(date, '08:00')), 201);
  });

  it('staff may book several slots back to back (a longer visit), still on the grid', async () => {
    const [patientId, doctorId] = [await createPatient(), await createDoctor()];
    const date = dateIn(15);
    expectStatus(await book(admin, patientId, doctorId, at(date, '08:00'), at(date, '09:00')), 201);
    expectRule(await book(admin, patientId, doctorId, at(date, '10:10'), at(date, '10:40')), 'slot-aligned');
  });
});

describe("a cap on a patient's open future bookings (10 by default)", () => {
  it('20 bookings at once for one patient, each a free slot: exactly 10 book, the others 422 open-bookings-cap', async () => {
    const [own, doctorId] = [await patientAccount(), await createDoctor()];
    // 16 slots a day: two days give 20 different free slots.
    const starts = Array.from({ length: 20 }, (_, i) => slot(dateIn(20 + Math.floor(i / 10)), i % 10));
    expect(new Set(starts).size).toBe(20);
    const answers = await Promise.all(starts.map((start) => book(own.auth, own.patientId, doctorId, start)));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(10);
    const refused = answers.filter((a) => a.status !== 201);
    expect(refused).toHaveLength(10);
    for (const refusal of refused) expect(expectRule(refusal, 'open-bookings-cap')).toMatchObject({ maxOpenBookings: 10 });
    const { rows } = await db.query("SELECT count(*)::int AS n FROM appointments WHERE patient_id = $1 AND status = 'booked'", [
      own.patientId,
    ]);
    expect(rows[0]).toEqual({ n: 10 });

    // Staff cannot go past it either; a cancelled one frees a place.
    const free = starts.find((start) => !answers.some((a) => a.status === 201 && (a.body as { start: string }).start === start))!;
    expectRule(await book(admin, own.patientId, doctorId, free), 'open-bookings-cap');
    const first = answers.find((a) => a.status === 201)!.body as { id: string };
    expectStatus(
      await api('POST', `/api/appointments/${first.id}/status`, { status: 'cancelled', reason: 'plans changed' }, own.auth),
      200,
    );
    expectStatus(await book(own.auth, own.patientId, doctorId, free), 201);
  });
});

describe('FHIR commands under the JSON API contracts', () => {
  it("a reasonCode text over 1,000 characters is a 400 OperationOutcome at its element, as the JSON API's reason is", async () => {
    const [own, doctorId] = [await patientAccount(), await createDoctor()];
    const start = at(dateIn(30), '09:00');
    const long = 'x'.repeat(1_001);
    const json = await api(
      'POST',
      '/api/appointments',
      { patientId: own.patientId, doctorId, start, durationMinutes: 30, serviceType: 'consultation', reason: long },
      own.auth,
    );
    expectStatus(json, 400);
    const answer = await fhir(
      'POST',
      '/api/fhir/Appointment',
      own.auth,
      fhirBooking(own.patientId, doctorId, start, plusMinutes(start, 30), long),
    );
    expect(answer.status).toBe(400);
    expect((answer.body as unknown as Outcome).issue).toEqual([
      expect.objectContaining({ code: 'invalid', expression: [expect.stringMatching(/^Appointment\.reasonCode/)] }),
    ]);
    const { rows } = await db.query('SELECT count(*)::int AS n FROM appointments WHERE patient_id = $1', [own.patientId]);
    expect(rows[0]).toEqual({ n: 0 });
  });

  it('a cancelationReason over 1,000 characters by PUT or PATCH is a 400, and nothing changes', async () => {
    const [own, doctorId] = [await patientAccount(), await createDoctor()];
    const start = at(dateIn(31), '09:00');
    const booked = await fhir(
      'POST',
      '/api/fhir/Appointment',
      own.auth,
      fhirBooking(own.patientId, doctorId, start, plusMinutes(start, 30)),
    );
    expect(booked.status).toBe(201);
    const long = 'x'.repeat(1_001);
    const put = await fhir('PUT', `/api/fhir/Appointment/${booked.body.id}`, own.auth, {
      ...booked.body,
      status: 'cancelled',
      cancelationReason: { text: long },
    });
    expect([put.status, put.body.resourceType]).toEqual([400, 'OperationOutcome']);
    const patch = await fetch(`${stack.url('gateway')}/api/fhir/Appointment/${booked.body.id}`, {
      method: 'PATCH',
      headers: { accept: 'application/fhir+json', 'content-type': 'application/json-patch+json', ...own.auth },
      body: JSON.stringify([
        { op: 'replace', path: '/status', value: 'cancelled' },
        { op: 'add', path: '/cancelationReason/text', value: long },
      ]),
    });
    expect(patch.status).toBe(400);
    expect((await api('GET', `/api/appointments/${booked.body.id}`, undefined, own.auth)).body).toMatchObject({ status: 'booked' });
  });

  it('a FHIR booking is held to the horizon, the one-slot rule and the cap (422 OperationOutcome)', async () => {
    const [own, doctorId] = [await patientAccount(), await createDoctor()];
    const far = await fhir(
      'POST',
      '/api/fhir/Appointment',
      own.auth,
      fhirBooking(own.patientId, doctorId, at('2999-01-07', '08:00'), at('2999-01-07', '16:00')),
    );
    expect([far.status, far.body.resourceType]).toEqual([422, 'OperationOutcome']);
    const date = dateIn(40);
    const day = await fhir(
      'POST',
      '/api/fhir/Appointment',
      own.auth,
      fhirBooking(own.patientId, doctorId, at(date, '08:00'), at(date, '16:00')),
    );
    expect([day.status, day.body.resourceType]).toEqual([422, 'OperationOutcome']);
    for (let i = 0; i < 10; i++) {
      const start = slot(date, i);
      expect(
        (await fhir('POST', '/api/fhir/Appointment', own.auth, fhirBooking(own.patientId, doctorId, start, plusMinutes(start, 30)))).status,
      ).toBe(201);
    }
    const eleventh = await fhir(
      'POST',
      '/api/fhir/Appointment',
      own.auth,
      fhirBooking(own.patientId, doctorId, at(date, '14:00'), at(date, '14:30')),
    );
    expect([eleventh.status, eleventh.body.resourceType]).toEqual([422, 'OperationOutcome']);
    expect(JSON.stringify(eleventh.body)).toMatch(/at most 10 open future bookings/);
  });
});

describe('a 409 names only an appointment the caller may see', () => {
  it("another patient's appointment in the way: the slot, no id; one's own: its id; staff: its id", async () => {
    const [first, second, doctorId, otherDoctorId] = [
      await patientAccount(),
      await patientAccount(),
      await createDoctor(),
      await createDoctor(),
    ];
    const start = at(dateIn(50), '09:00');
    const theirs = expectStatus(await book(first.auth, first.patientId, doctorId, start), 201).body as { id: string; end: string };

    const refused = expectStatus(await book(second.auth, second.patientId, doctorId, start), 409);
    expect(refused.body).toMatchObject({ conflictWith: 'doctor', conflictingSlot: { start, end: theirs.end } });
    expect((refused.body as { conflictingSlot: object }).conflictingSlot).not.toHaveProperty('appointmentId');
    expect(JSON.stringify(refused.body)).not.toContain(theirs.id);

    // A move onto it likewise.
    const mine = expectStatus(await book(second.auth, second.patientId, doctorId, at(dateIn(50), '10:00')), 201).body as { id: string };
    const moved = expectStatus(await api('POST', `/api/appointments/${mine.id}/reschedule`, { start }, second.auth), 409);
    expect(JSON.stringify(moved.body)).not.toContain(theirs.id);

    // The first patient, with another doctor at the same time: their own appointment, by id.
    const own = expectStatus(await book(first.auth, first.patientId, otherDoctorId, start), 409);
    expect(own.body).toMatchObject({ conflictWith: 'patient', conflictingSlot: { appointmentId: theirs.id } });
    // Staff may read every appointment.
    const staff = expectStatus(await book(admin, await createPatient(), doctorId, start), 409);
    expect(staff.body).toMatchObject({ conflictWith: 'doctor', conflictingSlot: { appointmentId: theirs.id } });
  });
});
