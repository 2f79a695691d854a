/**
 * End-to-end tracing, every process real: a booking and its payment come back from Zipkin's API,
 * each found by the request id the gateway answered, as one trace per request begun at the
 * gateway: the booking's holds the gateway, the sidecars, appointment-service with its patient and
 * doctor invocations and database queries; the payment's the publish of appointment.paid (from
 * the outbox relay, after the request had ended) and billing-service consuming it and issuing the
 * invoice. Every span's parent is in its trace: nothing is orphaned. The client's own
 * traceparent and X-Request-Id choose neither trace nor id.
 */
import { randomBytes } from 'node:crypto';
import {
  doctorProfile,
  eventually,
  jsonClient,
  readInfraEnv,
  bootstrapAdminAuth,
  startTestStack,
  nextMonday,
  type TestStack,
} from '@caregrid/devkit';

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

async function traceFromZipkin(traceId: string): Promise<ZipkinSpan[]> {
  const response = await fetch(`${zipkin}/api/v2/trace/${traceId}`);
  return response.ok ? ((await response.json()) as ZipkinSpan[]) : [];
}

/** The trace of one request, found by the request id the gateway answered (a tag of its server span). */
async function traceOfRequest(requestId: string): Promise<ZipkinSpan[]> {
  const query = new URLSearchParams({ serviceName: 'gateway', annotationQuery: `caregrid.request_id=${requestId}`, limit: '1' });
  const response = await fetch(`${zipkin}/api/v2/traces?${query}`);
  const traceId = response.ok ? ((await response.json()) as ZipkinSpan[][])[0]?.[0]?.traceId : undefined;
  return traceId ? traceFromZipkin(traceId) : [];
}

beforeAll(async () => {
  expect((await fetch(`${zipkin}/health`)).status).toBe(200);
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service', 'doctor-service', 'appointment-service', 'billing-service'],
  });
  api = jsonClient(stack.url('gateway'));
  auth = await bootstrapAdminAuth(stack);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

it('a booking and its payment are a trace each in Zipkin, begun at the gateway: invocations, queries, the publish and the billing consumer', async () => {
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

  // A client with a trace and request ids of its own: the gateway continues neither.
  const clientTraceId = randomBytes(16).toString('hex');
  const client = (label: string) => ({
    ...auth,
    traceparent: `00-${clientTraceId}-${randomBytes(8).toString('hex')}-01`,
    'x-request-id': `client-${label}-${n}`,
  });
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
    client('booking'),
  );
  expect(booked.status).toBe(201);
  const appointmentId = (booked.body as { id: string }).id;
  const paid = await api('POST', `/api/appointments/${appointmentId}/payment`, { method: 'debit', amount: 9_000 }, client('payment'));
  expect(paid.status).toBe(200);
  const bookingId = booked.headers.get('x-request-id')!;
  const paymentId = paid.headers.get('x-request-id')!;
  expect([bookingId, paymentId]).not.toContain(`client-booking-${n}`);
  expect(paymentId).not.toBe(`client-payment-${n}`);
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
  const inBooking: [string, ZipkinSpan['kind'], RegExp][] = [
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
  ];
  const inPayment: [string, ZipkinSpan['kind'], RegExp][] = [
    ['gateway', 'SERVER', /^post$/],
    ['appointment-service', 'SERVER', /^post \/appointments\/:id\/payment$/],
    // The paid event, published by the outbox relay after the request had ended.
    ['appointment-service', 'PRODUCER', /^publish appointments$/],
    ['billing-service', 'CLIENT', /^pg insert$/],
  ];
  // One connected trace: each span's parent is a span of the trace (the gateway's server span is its root).
  const orphans = (spans: ZipkinSpan[]) => {
    const ids = new Set(spans.map((s) => s.id));
    return spans.filter((s) => s.parentId !== undefined && !ids.has(s.parentId)).map((s) => `${s.localEndpoint?.serviceName}: ${s.name}`);
  };
  const missing = (spans: ZipkinSpan[], expected: [string, ZipkinSpan['kind'], RegExp][]) =>
    expected
      .filter(([service, kind, name]) => !has(spans, service, kind, name))
      .map(([service, kind, name]) => `${service} ${kind} ${name}`);
  // Spans arrive in batches (the apps' exporters and each daprd send every second or so).
  let booking: ZipkinSpan[] = [];
  let payment: ZipkinSpan[] = [];
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 1_000))) {
    [booking, payment] = await Promise.all([traceOfRequest(bookingId), traceOfRequest(paymentId)]);
    const complete =
      missing(booking, inBooking).length === 0 &&
      missing(payment, inPayment).length === 0 &&
      paidConsumed(payment) &&
      orphans(booking).length === 0 &&
      orphans(payment).length === 0;
    if (complete) break;
  }
  expect(missing(booking, inBooking)).toEqual([]);
  expect(missing(payment, inPayment)).toEqual([]);

  // The paid event: published by the relay inside the payment's trace, consumed by billing.
  const consumed = paidConsumed(payment)!;
  expect(consumed.name).toBe('consume appointments');
  expect(consumed.tags?.['caregrid.delivery_status']).toBe('SUCCESS');
  // The invoice was written under the consumer span.
  const billingInserts = payment.filter((s) => s.localEndpoint?.serviceName === 'billing-service' && s.name === 'pg insert');
  expect(billingInserts.some((s) => s.parentId === consumed.id)).toBe(true);

  expect(orphans(booking)).toEqual([]);
  expect(orphans(payment)).toEqual([]);
  // Each request its own trace, begun at the gateway: none of them the client's.
  const bookingTrace = booking[0]!.traceId;
  expect(booking.every((s) => s.traceId === bookingTrace)).toBe(true);
  expect(payment.every((s) => s.traceId === payment[0]!.traceId)).toBe(true);
  expect(new Set([bookingTrace, payment[0]!.traceId, clientTraceId]).size).toBe(3);
  expect(await traceFromZipkin(clientTraceId)).toEqual([]);
  // The client's id is on the gateway's server span, beside ours, for support to find its trace.
  const served = booking.find((s) => s.localEndpoint?.serviceName === 'gateway' && s.kind === 'SERVER')!;
  expect(served.parentId).toBeUndefined();
  expect(served.tags).toMatchObject({ 'caregrid.request_id': bookingId, 'caregrid.client_request_id': `client-booking-${n}` });
  // Background work a request merely woke (the outbox relay's polling) is not part of its trace.
  // (Its claims name the outbox: another stack's subscriber on the shared broker may continue these
  // traces too, with claimed_by queries of its own tables.)
  const relayClaims = [...booking, ...payment].filter((s) => {
    const query = s.tags?.['db.query.text'] ?? '';
    return query.includes('outbox') && query.includes('claimed_by');
  });
  expect(relayClaims).toEqual([]);
}, 180_000);
