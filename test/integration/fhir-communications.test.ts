/**
 * notification-service's FHIR face through the real gateway: a patient books, and reads the
 * CommunicationRequest of the booking's reminder (active), the Communication of its
 * confirmation once sent, and the request revoked once they cancel; another patient sees none of
 * it. Every process is real (gateway, auth, patient, doctor, appointment and notification
 * services, their sidecars, Kafka, PostgreSQL, the Dapr scheduler, Mailpit); every answer is
 * validated against the official R4 JSON schema.
 */
import {
  doctorProfile,
  eventually,
  jsonClient,
  readyAccount,
  bootstrapAdminAuth,
  startTestStack,
  uniqueName,
  PASSWORD,
  type TestStack,
} from '@caregrid/devkit';
import { fhirSchemaErrors } from '../../packages/fhir/test/fhir-schema.js';

let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let admin: Record<string, string>;

type Json = Record<string, unknown>;
type Resource = Json & { resourceType: string; id: string; status: string };
type Bundle = { resourceType: 'Bundle'; total: number; link: { relation: string; url: string }[]; entry?: { resource: Resource }[] };

const DAY = 86_400_000;

/** A FHIR GET through the gateway: fhir+json, valid R4 whatever it is (resource, Bundle, OperationOutcome). */
async function fhir(url: string, as: Record<string, string>): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${stack.url('gateway')}${url}`, { headers: { accept: 'application/fhir+json', ...as } });
  expect([url, response.headers.get('content-type')]).toEqual([url, 'application/fhir+json; charset=utf-8']);
  const body = (await response.json()) as Json;
  expect(fhirSchemaErrors(body)).toEqual([]);
  return { status: response.status, body };
}

async function search(url: string, as: Record<string, string>): Promise<Bundle> {
  const answer = await fhir(url, as);
  expect([url, answer.status]).toEqual([url, 200]);
  return answer.body as Bundle;
}

async function patient(): Promise<{ id: string; as: Record<string, string> }> {
  const email = `${uniqueName('fhirmail')}@example.org`;
  const created = await api(
    'POST',
    '/api/patients',
    { name: `Pat ${uniqueName('c')}`, email, dateOfBirth: '1980-02-03', gender: 'female' },
    admin,
  );
  expect(created.status).toBe(201);
  const id = (created.body as { id: string }).id;
  const account = await readyAccount(api, admin, { email, password: PASSWORD, roles: ['patient'], patientId: id });
  return { id, as: account.auth };
}

beforeAll(async () => {
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service', 'doctor-service', 'appointment-service', 'notification-service'],
    env: { gateway: { RATE_LIMIT_PER_MINUTE: '100000' }, 'notification-service': { REMINDER_LEAD: '24h', MAIL_POLL_MS: '200' } },
  });
  api = jsonClient(stack.url('gateway'));
  admin = await bootstrapAdminAuth(stack);
}, 240_000);

afterAll(() => stack?.stop());

describe('CommunicationRequest and Communication', () => {
  it("a patient reads their booking's reminder (active, then revoked on cancelling) and its confirmation; another patient sees nothing", async () => {
    const [ann, bea] = await Promise.all([patient(), patient()]);
    const workingHours = Object.fromEntries(
      ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [{ start: '09:00', end: '17:00' }]]),
    );
    const doctor = await api('POST', '/api/doctors', doctorProfile({ workingHours, fees: { consultation: 5_000 } }), admin);
    expect(doctor.status).toBe(201);
    // Three days ahead at 10:00 UTC: its reminder is due a day before.
    const start = new Date(Math.floor((Date.now() + 3 * DAY) / DAY) * DAY + 10 * 3_600_000);
    const booked = await api(
      'POST',
      '/api/appointments',
      {
        patientId: ann.id,
        doctorId: (doctor.body as { id: string }).id,
        start: start.toISOString(),
        durationMinutes: 30,
        serviceType: 'consultation',
      },
      ann.as,
    );
    expect(booked.status).toBe(201);
    const appointmentId = (booked.body as { id: string }).id;

    // The reminder, found by the patient's search (patient or subject) and read by its id.
    const requests = await eventually(async () => {
      const bundle = await search(`/api/fhir/CommunicationRequest?patient=Patient/${ann.id}`, ann.as);
      // The page and its total are read side by side: a notice committed in between is in one only.
      return bundle.entry?.length ? bundle : undefined;
    }, 45_000);
    expect(requests.total).toBe(1);
    const reminder = requests.entry![0]!.resource;
    expect(reminder).toMatchObject({
      resourceType: 'CommunicationRequest',
      status: 'active',
      subject: { reference: `Patient/${ann.id}` },
      about: [{ reference: `Appointment/${appointmentId}` }],
      occurrenceDateTime: new Date(start.getTime() - DAY).toISOString(),
      category: [{ coding: [{ code: 'reminder' }] }],
    });
    expect(reminder).not.toHaveProperty('payload');
    expect((await search(`/api/fhir/CommunicationRequest?subject=${ann.id}&about=Appointment/${appointmentId}`, ann.as)).total).toBe(1);
    const read = await fhir(`/api/fhir/CommunicationRequest/${reminder.id}`, ann.as);
    expect(read).toMatchObject({ status: 200, body: { id: reminder.id, status: 'active' } });
    // Not sent yet: no Communication of it.
    expect((await fhir(`/api/fhir/Communication/${reminder.id}`, ann.as)).status).toBe(404);

    // Another patient: the reminder is absent, and their searches find nothing of Ann's.
    const foreign = await fhir(`/api/fhir/CommunicationRequest/${reminder.id}`, bea.as);
    expect([foreign.status, foreign.body.resourceType]).toEqual([404, 'OperationOutcome']);
    expect((await search(`/api/fhir/CommunicationRequest?patient=${ann.id}`, bea.as)).total).toBe(0);
    expect((await search('/api/fhir/CommunicationRequest', bea.as)).total).toBe(0);
    expect((await search(`/api/fhir/Communication?about=${appointmentId}`, bea.as)).total).toBe(0);

    // The confirmation, once sent, is a completed Communication about the appointment.
    const sent = await eventually(async () => {
      const bundle = await search(`/api/fhir/Communication?about=Appointment/${appointmentId}`, ann.as);
      return bundle.entry?.length ? bundle : undefined;
    }, 45_000);
    expect(sent.entry!.map((e) => e.resource)).toMatchObject([
      {
        resourceType: 'Communication',
        status: 'completed',
        subject: { reference: `Patient/${ann.id}` },
        about: [{ reference: `Appointment/${appointmentId}` }],
        sent: expect.any(String),
        category: [{ coding: [{ code: 'notification' }] }, { coding: [{ code: 'confirmation' }] }],
      },
    ]);
    expect((await fhir(`/api/fhir/Communication/${sent.entry![0]!.resource.id}`, bea.as)).status).toBe(404);

    // Cancelled: the reminder is revoked, with the reason; a status search finds it so.
    const cancel = await api(
      'POST',
      `/api/appointments/${appointmentId}/status`,
      { status: 'cancelled', reason: 'Feeling better' },
      ann.as,
    );
    expect(cancel.status).toBe(200);
    const revoked = await eventually(async () => {
      const answer = await fhir(`/api/fhir/CommunicationRequest/${reminder.id}`, ann.as);
      return answer.body.status === 'revoked' ? answer.body : undefined;
    }, 30_000);
    expect(revoked).toMatchObject({ statusReason: { text: 'the appointment was cancelled' } });
    expect((await search(`/api/fhir/CommunicationRequest?patient=${ann.id}&status=revoked`, ann.as)).total).toBe(1);
    expect((await search(`/api/fhir/CommunicationRequest?patient=${ann.id}&status=active`, ann.as)).total).toBe(0);

    // Staff see it all; the cancellation notice joins the confirmation, a page at a time.
    const first = await eventually(async () => {
      const bundle = await search(`/api/fhir/Communication?about=${appointmentId}&_count=1`, admin);
      return bundle.total === 2 && bundle.link.some((link) => link.relation === 'next') ? bundle : undefined;
    }, 45_000);
    const next = new URL(first.link.find((link) => link.relation === 'next')!.url);
    const second = await search(`${next.pathname}${next.search}`, admin);
    expect([first, second].map((b) => b.entry![0]!.resource.category)).toEqual([
      expect.arrayContaining([{ coding: [expect.objectContaining({ code: 'confirmation' })] }]),
      expect.arrayContaining([{ coding: [expect.objectContaining({ code: 'cancellation' })] }]),
    ]);
    expect(second.link.map((link) => link.relation)).toEqual(['self']);

    // _summary=count: the same totals, no entries.
    for (const url of [`/api/fhir/Communication?about=${appointmentId}`, `/api/fhir/CommunicationRequest?patient=${ann.id}`]) {
      const [full, counted] = [await search(url, admin), await search(`${url}&_summary=count`, admin)];
      expect([url, counted.total, counted.entry]).toEqual([url, full.total, undefined]);
    }
  }, 240_000);

  it('answers bad parameters with a 400 OperationOutcome', async () => {
    for (const url of [
      '/api/fhir/CommunicationRequest?about=Patient/0195d2b4-7f3a-7c11-9a2b-3c4d5e6f7a8b',
      '/api/fhir/CommunicationRequest?status=not-done',
      '/api/fhir/Communication?recipient=Patient/0195d2b4-7f3a-7c11-9a2b-3c4d5e6f7a8b',
    ]) {
      const answer = await fhir(url, admin);
      expect([url, answer.status, answer.body.resourceType]).toEqual([url, 400, 'OperationOutcome']);
    }
  });
});
