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
  // billing-service reads the whole appointments topic: the booked event is consumed (and ignored) too.
  const paidConsumed = (spans: ZipkinSpan[]) =>
    spans.find(
      (s) =>
        s.localEndpoint?.serviceName === 'billing-service' &&
        s.kind === 'CONSUMER' &&
        s.tags?.['cloudevents.event_type'] === 'caregrid.appointment.paid.v1',
    );
  const expected: [string, ZipkinSpan['kind'], RegExp][] = [
    // The gateway's own spans (its sidecar's too report under its app-id).
    ['gateway', 'SERVER', /^post$/],
    ['gateway', 'CLIENT', /^invoke appointment-service post$/],
    // appointment-service serving the booking: verifying the patient and the doctor by invocation.
    ['appointment-service', 'SERVER', /^post \/appointments$/],
    ['appointment-service', 'CLIENT', /^invoke patient-service get$/],
    ['appointment-service', 'CLIENT', /^invoke doctor-service get$/],
    ['patient-service', 'SERVER', /^get \/patients\/:id$/],
    ['doctor-service', 'SERVER', /^get \/doctors\/:id$/],
    ['appointment-service', 'CLIENT', /^pg insert$/],
    // The paid event, published by the outbox relay after the request had ended.
    ['appointment-service', 'PRODUCER', /^publish appointments$/],
    ['billing-service', 'CLIENT', /^pg insert$/],
  ];
  // One connected trace: each span's parent is a span of the trace, or the client's own span.
  const orphans = (spans: ZipkinSpan[]) => {
    const ids = new Set(spans.map((s) => s.id));
    return spans
      .filter((s) => s.parentId !== undefined && !ids.has(s.parentId) && s.parentId !== clientSpanId)
      .map((s) => `${s.localEndpoint?.serviceName}: ${s.name}`);
  };
  const missing = (spans: ZipkinSpan[]) =>
    expected
      .filter(([service, kind, name]) => !has(spans, service, kind, name))
      .map(([service, kind, name]) => `${service} ${kind} ${name}`);
  // Spans arrive in batches (the apps' exporters and each daprd send every second or so).
  let spans: ZipkinSpan[] = [];
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 1_000))) {
    spans = await traceFromZipkin(traceId);
    if (missing(spans).length === 0 && paidConsumed(spans) && orphans(spans).length === 0) break;
  }
  expect(missing(spans)).toEqual([]);

  // The paid event: published by the relay inside the request's trace, consumed by billing.
  const consumed = paidConsumed(spans)!;
  expect(consumed.name).toBe('consume appointments');
  expect(consumed.tags?.['caregrid.delivery_status']).toBe('SUCCESS');
  // The invoice was written under the consumer span.
  const billingInserts = spans.filter((s) => s.localEndpoint?.serviceName === 'billing-service' && s.name === 'pg insert');
  expect(billingInserts.some((s) => s.parentId === consumed.id)).toBe(true);

  expect(orphans(spans)).toEqual([]);
  expect(spans.every((s) => s.traceId === traceId)).toBe(true);
  // Background work a request merely woke (the outbox relay's polling) is not part of its trace.
  const relayClaims = spans.filter((s) => s.tags?.['db.query.text']?.includes('claimed_by'));
  expect(relayClaims).toEqual([]);
}, 180_000);
