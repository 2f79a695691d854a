/**
 * End-to-end tracing, every process real: a booking and its payment, sent by a client under one
 * W3C traceparent, come back from Zipkin's API as ONE trace holding the gateway, the sidecars,
 * appointment-service with its patient and doctor invocations and database queries, the publish
 * of appointment.paid (from the outbox relay, after the request had ended) and billing-service
 * consuming it and issuing the invoice. Every span's parent is in the trace: nothing is orphaned.
 */
import { randomBytes } from 'node:crypto';
import { doctorProfile, eventually, jsonClient, readInfraEnv, startTestStack, type TestStack } from '@caregrid/devkit';

type ZipkinSpan = {
  traceId: string;
  id: string;
  parentId?: string;
  name?: string;
  kind?: 'CLIENT' | 'SERVER' | 'PRODUCER' | 'CONSUMER';
  localEndpoint?: { serviceName?: string };
  tags?: Record<string, string>;
};

const zipkin = `http://127.0.0.1:${readInfraEnv().CAREGRID_ZIPKIN_PORT}`;
let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let auth: Record<string, string>;

function nextMonday(weeksAhead: number): string {
  const date = new Date();
  date.setUTCDate(date.getUTCDate() + ((8 - date.getUTCDay()) % 7 || 7) + 7 * weeksAhead);
  return date.toISOString().slice(0, 10);
}

async function traceFromZipkin(traceId: string): Promise<ZipkinSpan[]> {
  const response = await fetch(`${zipkin}/api/v2/trace/${traceId}`);
  return response.ok ? ((await response.json()) as ZipkinSpan[]) : [];
}

beforeAll(async () => {
  expect((await fetch(`${zipkin}/health`)).status).toBe(200);
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service', 'doctor-service', 'appointment-service', 'billing-service'],
  });
  api = jsonClient(stack.url('gateway'));
  const secret = stack.secrets()['auth-service']!;
  const login = await api('POST', '/api/auth/login', { email: secret.bootstrapAdminEmail, password: secret.bootstrapAdminPassword });
  auth = { authorization: `Bearer ${(login.body as { accessToken: string }).accessToken}` };
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

it('one booking and its payment are one trace in Zipkin: gateway, invocations, queries, the publish and the billing consumer', async () => {
  const n = `${Date.now()}-${randomBytes(2).toString('hex')}`;
  const patient = await api(
    'POST',
    '/api/patients',
    { name: `Traced ${n}`, email: `traced.${n}@example.org`, dateOfBirth: '1980-05-05', gender: 'male' },
    auth,
  );
  const doctor = await api(
    'POST',
    '/api/doctors',
    doctorProfile({ name: `Dr Trace ${n}`, workingHours: { mon: [{ start: '08:00', end: '18:00' }] }, fees: { checkup: 9_000 } }),
    auth,
  );
  expect([patient.status, doctor.status]).toEqual([201, 201]);

  // The client's own span: both requests are its children, so the whole flow is one trace.
  const traceId = randomBytes(16).toString('hex');
  const clientSpanId = randomBytes(8).toString('hex');
  const traced = { ...auth, traceparent: `00-${traceId}-${clientSpanId}-01` };
  const booked = await api(
    'POST',
    '/api/appointments',
    {
      patientId: (patient.body as { id: string }).id,
      doctorId: (doctor.body as { id: string }).id,
      start: `${nextMonday(2)}T10:00:00Z`,
      durationMinutes: 30,
      serviceType: 'checkup',
    },
    traced,
  );
  expect(booked.status).toBe(201);
  const appointmentId = (booked.body as { id: string }).id;
  expect((await api('POST', `/api/appointments/${appointmentId}/payment`, { method: 'debit', amount: 9_000 }, traced)).status).toBe(200);
  await eventually(async () => {
    const page = (await api('GET', `/api/billing/invoices?appointmentId=${appointmentId}`, undefined, auth)).body as { items: unknown[] };
    return page.items.length > 0 ? true : undefined;
  }, 45_000);

  const has = (spans: ZipkinSpan[], service: string, kind: ZipkinSpan['kind'], name: RegExp) =>
    spans.some((s) => s.localEndpoint?.serviceName === service && s.kind === kind && name.test(s.name ?? ''));
  // Spans arrive in batches (the apps' exporters and each daprd send every second or so).
  const spans = await eventually(async () => {
    const found = await traceFromZipkin(traceId);
    return has(found, 'billing-service', 'CONSUMER', /^consume appointments$/) &&
      has(found, 'billing-service', 'CLIENT', /^pg insert$/) &&
      has(found, 'appointment-service', 'PRODUCER', /^publish appointments$/)
      ? found
      : undefined;
  }, 60_000);

  const services = new Set(spans.map((s) => s.localEndpoint?.serviceName));
  for (const service of ['gateway', 'appointment-service', 'patient-service', 'doctor-service', 'billing-service']) {
    expect(services).toContain(service);
  }
  // The gateway's own spans, and its sidecar's (daprd reports under the same app-id).
  expect(has(spans, 'gateway', 'SERVER', /^post$/)).toBe(true);
  expect(has(spans, 'gateway', 'CLIENT', /^invoke appointment-service post$/)).toBe(true);
  // appointment-service serving the booking: verifying the patient and the doctor by invocation.
  expect(has(spans, 'appointment-service', 'SERVER', /^post \/appointments$/)).toBe(true);
  expect(has(spans, 'appointment-service', 'CLIENT', /^invoke patient-service get$/)).toBe(true);
  expect(has(spans, 'appointment-service', 'CLIENT', /^invoke doctor-service get$/)).toBe(true);
  expect(has(spans, 'patient-service', 'SERVER', /^get \/patients\/:id$/)).toBe(true);
  expect(has(spans, 'doctor-service', 'SERVER', /^get \/doctors\/:id$/)).toBe(true);
  expect(has(spans, 'appointment-service', 'CLIENT', /^pg insert$/)).toBe(true);
  // The paid event: published by the relay inside the request's trace, consumed by billing.
  const consumed = spans.find((s) => s.localEndpoint?.serviceName === 'billing-service' && s.kind === 'CONSUMER')!;
  expect(consumed.tags?.['cloudevents.event_type']).toBe('caregrid.appointment.paid.v1');
  expect(consumed.tags?.['caregrid.delivery_status']).toBe('SUCCESS');

  // One connected trace: each span's parent is a span of the trace, or the client's own span.
  const ids = new Set(spans.map((s) => s.id));
  const orphans = spans.filter((s) => s.parentId !== undefined && !ids.has(s.parentId) && s.parentId !== clientSpanId);
  expect(orphans.map((s) => `${s.localEndpoint?.serviceName}: ${s.name}`)).toEqual([]);
  expect(spans.every((s) => s.traceId === traceId)).toBe(true);
}, 180_000);
