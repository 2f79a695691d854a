/**
 * Billing and analytics end to end, every process real: book → pay through the
 * gateway → appointment.paid through the outbox, Kafka and declarative
 * subscriptions → one invoice whose PDF (stored through the invoice-storage
 * binding) downloads through the gateway, and analytics counting the flow;
 * redelivery changes nothing; a poison message reaches billing's dead-letter
 * topic and billing parks it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { appointmentPaid, deadLetterTopic, Topics } from '@caregrid/contracts';
import {
  eventually,
  jsonClient,
  readTopic,
  runSmoke,
  bootstrapAdminAuth,
  startTestStack,
  doctorProfile,
  nextMonday,
  type TestStack,
} from '@caregrid/devkit';

let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let auth: Record<string, string>;
let billingDb: pg.Pool;

type Invoice = { id: string; number: string; appointmentId: string; gross: number; status: string; currency: string };

/** Publishes a raw CloudEvent through a sidecar that may publish (appointment-service's). */
async function publishRaw(event: object): Promise<void> {
  const port = stack.member('appointment-service').app.daprHttpPort;
  const response = await fetch(`http://127.0.0.1:${port}/v1.0/publish/events/${Topics.appointments}`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json' },
    body: JSON.stringify(event),
  });
  expect(response.status).toBe(204);
}

/** A doctor whose checkup costs `amount` (EUR cents), booked and paid: the price comes from the tariff. */
async function paidAppointment(amount: number): Promise<string> {
  const n = `${Date.now()}-${Math.random().toString(36).slice(2, 6)}`;
  const patient = await api(
    'POST',
    '/api/patients',
    { name: `Billed ${n}`, email: `billed.${n}@example.org`, dateOfBirth: '1970-01-01', gender: 'female' },
    auth,
  );
  const doctor = await api(
    'POST',
    '/api/doctors',
    doctorProfile({
      name: `Dr Invoice ${n}`,
      specialization: 'dermatology',
      workingHours: { mon: [{ start: '08:00', end: '18:00' }] },
      fees: { checkup: amount },
    }),
    auth,
  );
  const booked = await api(
    'POST',
    '/api/appointments',
    {
      patientId: (patient.body as { id: string }).id,
      doctorId: (doctor.body as { id: string }).id,
      start: `${nextMonday(1)}T09:00:00Z`,
      durationMinutes: 30,
      serviceType: 'checkup',
    },
    auth,
  );
  expect(booked).toMatchObject({ status: 201, body: { amount, currency: 'EUR' } });
  const id = (booked.body as { id: string }).id;
  expect((await api('POST', `/api/appointments/${id}/payment`, { method: 'debit', amount }, auth)).status).toBe(200);
  return id;
}

const invoiceOf = (appointmentId: string) =>
  eventually(async () => {
    const page = (await api('GET', `/api/billing/invoices?appointmentId=${appointmentId}`, undefined, auth)).body as { items: Invoice[] };
    return page.items.length > 0 ? page.items : undefined;
  }, 45_000);

beforeAll(async () => {
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service', 'doctor-service', 'appointment-service', 'billing-service', 'analytics-service'],
  });
  api = jsonClient(stack.url('gateway'));
  auth = await bootstrapAdminAuth(stack);
  billingDb = new pg.Pool({ connectionString: stack.secrets()['billing-service']!.databaseUrl, max: 2 });
}, 180_000);

afterAll(async () => {
  await billingDb?.end();
  await stack?.stop();
});

/** The PDF's text as poppler reads it: it fails on a file that is not a whole PDF. */
function pdfText(pdf: Buffer): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'invoice-')), 'invoice.pdf');
  writeFileSync(file, pdf);
  return execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' });
}

type Summary = { patientsRegistered: number; appointments: Record<string, number>; revenue: { currency: string; amount: number }[] };
const summarySince = async (from: Date) =>
  (await api('GET', `/api/analytics/summary?from=${from.toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`, undefined, auth))
    .body as Summary;

it('book → pay → one invoice, numbered for the year, whose PDF downloads through the gateway with number and amount', async () => {
  const windowStart = new Date();
  const appointmentId = await paidAppointment(12_345);
  const [invoice] = await invoiceOf(appointmentId);
  expect(invoice).toMatchObject({ appointmentId, gross: 12_345, currency: 'EUR', status: 'balanced' });
  expect(invoice!.number).toMatch(new RegExp(`^INV-${new Date().getUTCFullYear()}-\\d{6}$`));

  const response = await fetch(`${stack.url('gateway')}/api/billing/invoices/${invoice!.id}/pdf`, { headers: auth });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/pdf');
  expect(response.headers.get('content-disposition')).toContain(`${invoice!.number}.pdf`);
  const pdf = Buffer.from(await response.arrayBuffer());
  expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
  const text = pdfText(pdf);
  expect(text).toContain(invoice!.number);
  expect(text).toContain('123.45 EUR');

  // Analytics saw the same flow: one patient, one booking, the revenue.
  const summary = await eventually(async () => {
    const current = await summarySince(windowStart);
    // Topics are consumed independently: wait until each of the three has been counted.
    return current.revenue.length > 0 && current.appointments.booked === 1 && current.patientsRegistered === 1 ? current : undefined;
  }, 45_000);
  expect(summary).toMatchObject({
    patientsRegistered: 1,
    appointments: { booked: 1, cancelled: 0 },
    revenue: [{ currency: 'EUR', amount: 12_345 }],
  });
  const top = (await api('GET', '/api/analytics/doctors/top?by=revenue&currency=EUR&limit=5', undefined, auth)).body as {
    doctors: { revenue: number }[];
  };
  expect(top.doctors.map((d) => d.revenue)).toContain(12_345);
  const daily = (await api('GET', `/api/analytics/appointments/daily?from=${windowStart.toISOString()}`, undefined, auth)).body as {
    days: { day: string; booked: number }[];
  };
  expect(daily.days).toEqual([expect.objectContaining({ day: new Date().toISOString().slice(0, 10), booked: 1 })]);
  const specializations = (await api('GET', '/api/analytics/specializations', undefined, auth)).body as {
    specializations: { specialization: string; doctors: number }[];
  };
  expect(specializations.specializations.find((s) => s.specialization === 'dermatology')?.doctors).toBeGreaterThanOrEqual(1);
});

it('a stored PDF that is empty or cut short (still being written, or a crash mid-write) is never served: the download renders it again and stores it whole', async () => {
  const appointmentId = await paidAppointment(7_777);
  const [invoice] = await invoiceOf(appointmentId);
  const stored = path.join(stack.invoiceStorageDir, `${invoice!.number}.pdf`);
  const whole = await eventually(() => {
    const bytes = existsSync(stored) ? readFileSync(stored) : Buffer.alloc(0);
    return bytes.subarray(-32).toString('latin1').includes('%%EOF') ? bytes : undefined;
  }, 45_000);
  for (const broken of [Buffer.alloc(0), whole.subarray(0, Math.floor(whole.length / 2))]) {
    writeFileSync(stored, broken);
    const response = await fetch(`${stack.url('gateway')}/api/billing/invoices/${invoice!.id}/pdf`, { headers: auth });
    expect(response.status).toBe(200);
    const pdf = Buffer.from(await response.arrayBuffer());
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdfText(pdf)).toContain('77.77 EUR');
    expect(pdfText(readFileSync(stored))).toContain(invoice!.number);
  }
});

it('the same appointment.paid delivered again yields no second invoice, no gap in numbering, and one count', async () => {
  const windowStart = new Date();
  const appointmentId = await paidAppointment(5_000);
  await invoiceOf(appointmentId);
  const counted = await eventually(async () => {
    const current = await summarySince(windowStart);
    return current.revenue[0]?.amount === 5_000 && current.appointments.booked === 1 && current.patientsRegistered === 1
      ? current
      : undefined;
  }, 45_000);
  const original = readTopic(Topics.appointments).find(
    (e) => (e as { subject?: string; type?: string }).subject === appointmentId && (e as { type: string }).type === appointmentPaid.type,
  ) as object;
  const counterBefore = (await billingDb.query('SELECT sum(last)::int AS n FROM invoice_counters')).rows[0].n;
  await publishRaw(original);
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const { patientsRegistered, appointments, revenue } = await summarySince(windowStart);
  expect({ patientsRegistered, appointments, revenue }).toEqual({
    patientsRegistered: counted.patientsRegistered,
    appointments: counted.appointments,
    revenue: counted.revenue,
  });
  // Another event for the same appointment (a producer bug, say) still makes no second invoice.
  await publishRaw({ ...original, id: `${(original as { id: string }).id}-again` });
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  expect(await invoiceOf(appointmentId)).toHaveLength(1);
  expect((await billingDb.query('SELECT sum(last)::int AS n FROM invoice_counters')).rows[0].n).toBe(counterBefore);
});

it('a poison appointment.paid goes to billing’s own dead-letter topic, is parked with the reason, and a re-drive refuses it again', async () => {
  const id = `poison-${Date.now()}`;
  await publishRaw({
    specversion: '1.0',
    id,
    source: 'test',
    type: appointmentPaid.type,
    datacontenttype: 'application/json',
    data: { amount: 'lots' },
  });
  await eventually(
    () => readTopic(deadLetterTopic(Topics.appointments, 'billing-service')).find((e) => (e as { id?: string }).id === id),
    45_000,
  );
  const parked = await eventually(async () => {
    const { rows } = await billingDb.query('SELECT reason, seen_count, topic FROM dead_letters WHERE event_id = $1', [id]);
    return rows[0]?.seen_count > 0 ? rows[0] : undefined;
  }, 45_000);
  expect(parked).toMatchObject({ seen_count: 1, topic: Topics.appointments, reason: expect.stringMatching(/appointmentId|amount/) });
  const again = await api('POST', `/api/ops/billing-service/dead-letters/${id}/redrive`, undefined, auth);
  expect(again).toMatchObject({ status: 409, body: { status: 409 } });
  expect((await billingDb.query('SELECT 1 FROM dead_letters WHERE event_id = $1', [id])).rowCount).toBe(1);
});

it('analytics reports are for admins only', async () => {
  const email = `reader.${Date.now()}@example.org`;
  expect((await api('POST', '/api/auth/register', { name: 'Reader', email, password: 'correct horse battery' })).status).toBe(202);
  const login = await api('POST', '/api/auth/login', { email, password: 'correct horse battery' });
  const patient = { authorization: `Bearer ${(login.body as { accessToken: string }).accessToken}` };
  expect((await api('GET', '/api/analytics/summary', undefined, patient)).status).toBe(403);
  expect((await api('GET', '/api/analytics/summary?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', undefined, auth)).status).toBe(400);
  const hostile = await api(
    'GET',
    `/api/analytics/summary?from=${encodeURIComponent('0900-02-04T12:41:04.693491-17:59')}`,
    undefined,
    auth,
  );
  expect(hostile).toMatchObject({ status: 400, body: { errors: [{ path: 'query.from' }] } });
});

it('an invoice can be cancelled once by staff', async () => {
  const appointmentId = await paidAppointment(2_000);
  const [invoice] = await invoiceOf(appointmentId);
  expect(await api('POST', `/api/billing/invoices/${invoice!.id}/cancel`, { reason: 'duplicate visit' }, auth)).toMatchObject({
    status: 200,
    body: { status: 'cancelled', cancellationReason: 'duplicate visit' },
  });
  expect((await api('POST', `/api/billing/invoices/${invoice!.id}/cancel`, { reason: 'again' }, auth)).status).toBe(422);
});

// Last: its booking must not fall into the analytics windows of the tests above.
it("the smoke run used for Compose and Kubernetes passes through this stack's gateway", async () => {
  const secret = stack.secrets()['auth-service']!;
  const steps: string[] = [];
  const result = await runSmoke({
    baseUrl: stack.url('gateway'),
    adminEmail: secret.bootstrapAdminEmail!,
    adminPassword: secret.bootstrapAdminPassword!,
    log: (line) => steps.push(line),
  });
  expect(result.invoice).toMatch(/^INV-\d{4}-\d{6}$/);
  expect(steps).toHaveLength(result.steps);
  expect(steps).toEqual(expect.arrayContaining(['ok   the invoice PDF downloads', 'ok   analytics counts the booking']));
});
