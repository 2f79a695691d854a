/**
 * The audit trail end to end, every process real: a request to patient data
 * through the gateway → an entry in the serving service's outbox before the
 * answer → the `audit` topic → analytics-service's append-only store →
 * `GET /api/audit` for admins and `GET /api/patients/{id}/access-log` for the
 * patient. Each request's entries are found by the request id the gateway
 * answered (X-Request-Id): exactly one per request.
 */
import pg from 'pg';
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

type Entry = {
  id: string;
  at: string;
  actor: { kind: string; userId?: string; roles?: string[]; patientId?: string; doctorId?: string; appId?: string };
  service: string;
  resource: string;
  resourceId: string | null;
  action: string;
  patientIds: string[];
  outcome: string;
  status: number;
  clientAddress: string | null;
  requestId: string;
  clientRequestId?: string;
  traceId: string;
};
type Page<T> = { items: T[]; nextCursor: string | null };

const started = new Date(Date.now() - 60_000).toISOString();

/** A request and the id the gateway gave it (answered as X-Request-Id, as a client quotes it to support): its entries are found by it. */
async function traced(method: string, url: string, as: Record<string, string>, body?: unknown) {
  const clientRequestId = unique('audit', '-');
  const response = await api(method, url, body, { ...as, 'x-request-id': clientRequestId });
  const requestId = response.headers.get('x-request-id');
  expect(requestId).toBeTruthy();
  return { response, requestId: requestId!, clientRequestId };
}

/**
 * The entries of one request by the service that served it (a request's peer calls carry its
 * request id too, and are accesses of their own), once the trail has them and a moment more, to
 * catch a second one.
 */
async function entriesOf(requestId: string, patientId?: string, service?: string): Promise<Entry[]> {
  const query = patientId ? `patientId=${patientId}&` : '';
  const find = async () => {
    const page = expectStatus(await api('GET', `/api/audit?${query}from=${started}&limit=100`, undefined, admin), 200).body as Page<Entry>;
    const found = page.items.filter((entry) => entry.requestId === requestId && (!service || entry.service === service));
    return found.length > 0 ? found : undefined;
  };
  await eventually(find, 30_000);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  return (await find())!;
}

async function onlyEntryOf(requestId: string, patientId?: string, service?: string): Promise<Entry> {
  const entries = await entriesOf(requestId, patientId, service);
  expect(entries).toHaveLength(1);
  return entries[0]!;
}

/**
 * A patient's whole access log, page by page: every lookup of the trail (this file's own included)
 * is an entry about the patient it asks for, so the ones a test looks for may be past the first page.
 */
async function accessLogOf(patientId: string, as: Record<string, string>): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  do {
    const url = `/api/patients/${patientId}/access-log?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = expectStatus(await api('GET', url, undefined, as), 200).body as Page<Record<string, unknown>>;
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

async function account(roles: string[], links: { patientId?: string; doctorId?: string } = {}) {
  const email = `${unique(roles.join('-'), '-')}@example.org`;
  const ready = await readyAccount(api, admin, { email, password: PASSWORD, roles, ...links });
  return { headers: ready.auth, userId: ready.id };
}

const patientBody = () => ({
  name: unique('Audited Patient', '-'),
  email: `${unique('audited', '-')}@example.org`,
  dateOfBirth: '1975-05-05',
  gender: 'female',
});

async function createPatient(): Promise<string> {
  return (expectStatus(await api('POST', '/api/patients', patientBody(), admin), 201).body as { id: string }).id;
}

const w = {} as {
  patient: string;
  doctor: string;
  otherDoctor: string;
  asPatient: { headers: Record<string, string>; userId: string };
  asDoctor: { headers: Record<string, string>; userId: string };
  asOtherDoctor: { headers: Record<string, string>; userId: string };
  asReception: { headers: Record<string, string>; userId: string };
  appointment: { id: string; amount: number };
  invoice: string;
};

beforeAll(async () => {
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service', 'doctor-service', 'appointment-service', 'billing-service', 'analytics-service'],
    env: { gateway: { RATE_LIMIT_PER_MINUTE: '100000' } },
  });
  api = jsonClient(stack.url('gateway'));
  admin = await bootstrapAdminAuth(stack);

  const everyDay = Object.fromEntries(
    ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [{ start: '00:00', end: '23:30' }]]),
  );
  const doctor = () => api('POST', '/api/doctors', doctorProfile({ workingHours: everyDay, fees: { consultation: 8000 } }), admin);
  w.doctor = (expectStatus(await doctor(), 201).body as { id: string }).id;
  w.otherDoctor = (expectStatus(await doctor(), 201).body as { id: string }).id;
  w.patient = await createPatient();
  w.asPatient = await account(['patient'], { patientId: w.patient });
  w.asDoctor = await account(['doctor'], { doctorId: w.doctor });
  w.asOtherDoctor = await account(['doctor'], { doctorId: w.otherDoctor });
  w.asReception = await account(['receptionist']);

  const start = new Date(Date.UTC(new Date().getUTCFullYear() + 1, 2, 3, 10, 0)).toISOString();
  const booked = await api(
    'POST',
    '/api/appointments',
    { patientId: w.patient, doctorId: w.doctor, start, durationMinutes: 30, serviceType: 'consultation' },
    w.asReception.headers,
  );
  w.appointment = expectStatus(booked, 201).body as { id: string; amount: number };
  const paid = await api(
    'POST',
    `/api/appointments/${w.appointment.id}/payment`,
    { method: 'cash', amount: w.appointment.amount },
    w.asReception.headers,
  );
  expectStatus(paid, 200);
  w.invoice = await eventually(async () => {
    const page = (await api('GET', `/api/billing/invoices?appointmentId=${w.appointment.id}`, undefined, admin)).body as Page<{
      id: string;
    }>;
    return page.items[0]?.id;
  }, 45_000);
}, 300_000);

afterAll(() => stack?.stop());

describe('every access to patient data leaves exactly one entry', () => {
  it("the gateway mints the request id and starts the trace; the client's X-Request-Id is kept beside them", async () => {
    const clientTraceId = 'c1'.repeat(16);
    const response = await api('GET', `/api/patients/${w.patient}`, undefined, {
      ...w.asDoctor.headers,
      'x-request-id': 'mine-123',
      traceparent: `00-${clientTraceId}-${'c2'.repeat(8)}-01`,
    });
    expectStatus(response, 200);
    // What the client quotes to support: the gateway's id, not its own.
    const answered = response.headers.get('x-request-id');
    expect(answered).toMatch(/^[0-9a-f-]{36}$/);
    expect(answered).not.toBe('mine-123');
    const entry = await onlyEntryOf(answered!, w.patient);
    expect(entry).toMatchObject({ requestId: answered, clientRequestId: 'mine-123', service: 'patient-service' });
    expect(entry.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(entry.traceId).not.toBe(clientTraceId);
    // A client that claims another request's id gets its own id all the same.
    const again = await api('GET', `/api/patients/${w.patient}`, undefined, { ...w.asDoctor.headers, 'x-request-id': answered! });
    expect(again.headers.get('x-request-id')).not.toBe(answered);
  });

  it('a read: who, what, whose, when, outcome, client address, request and trace id', async () => {
    const before = Date.now();
    const { response, requestId } = await traced('GET', `/api/patients/${w.patient}`, w.asDoctor.headers);
    expectStatus(response, 200);
    const entry = await onlyEntryOf(requestId, w.patient);
    expect(entry).toMatchObject({
      actor: { kind: 'user', userId: w.asDoctor.userId, roles: ['doctor'], doctorId: w.doctor },
      service: 'patient-service',
      resource: 'patient',
      resourceId: w.patient,
      action: 'read',
      patientIds: [w.patient],
      outcome: 'allowed',
      status: 200,
      clientAddress: '127.0.0.1',
    });
    expect(entry.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(Date.parse(entry.at)).toBeGreaterThanOrEqual(before - 1_000);
    expect(Date.parse(entry.at)).toBeLessThanOrEqual(Date.now());
  });

  it('a search records the patients it returned', async () => {
    const { response, requestId } = await traced('GET', `/api/patients?limit=100`, w.asReception.headers);
    const returned = (expectStatus(response, 200).body as Page<{ id: string }>).items.map((p) => p.id);
    const entry = await onlyEntryOf(requestId);
    expect(entry).toMatchObject({ action: 'search', resource: 'patient', resourceId: null, outcome: 'allowed' });
    expect(entry.patientIds.sort()).toEqual(returned.sort());
  });

  it('a create, a change and a delete', async () => {
    const created = await traced('POST', '/api/patients', admin, patientBody());
    const id = (expectStatus(created.response, 201).body as { id: string }).id;
    expect(await onlyEntryOf(created.requestId, id)).toMatchObject({
      action: 'create',
      resourceId: id,
      patientIds: [id],
      outcome: 'allowed',
    });

    const changed = await traced('PATCH', `/api/patients/${w.patient}`, w.asPatient.headers, { phone: '+49 30 1234567' });
    expectStatus(changed.response, 200);
    expect(await onlyEntryOf(changed.requestId, w.patient)).toMatchObject({
      action: 'change',
      actor: { kind: 'user', roles: ['patient'], patientId: w.patient },
      outcome: 'allowed',
    });

    const deleted = await traced('DELETE', `/api/patients/${id}`, admin);
    expectStatus(deleted.response, 204);
    expect(await onlyEntryOf(deleted.requestId, id)).toMatchObject({ action: 'delete', resourceId: id, status: 204, outcome: 'allowed' });
  });

  it('appointments and invoices: a booking, a read, and a PDF download', async () => {
    const read = await traced('GET', `/api/appointments/${w.appointment.id}`, w.asPatient.headers);
    expectStatus(read.response, 200);
    expect(await onlyEntryOf(read.requestId, w.patient)).toMatchObject({
      service: 'appointment-service',
      resource: 'appointment',
      resourceId: w.appointment.id,
      action: 'read',
    });

    const pdf = await traced('GET', `/api/billing/invoices/${w.invoice}/pdf`, w.asPatient.headers);
    expect(pdf.response.status).toBe(200);
    expect(await onlyEntryOf(pdf.requestId, w.patient)).toMatchObject({
      service: 'billing-service',
      resource: 'invoice',
      resourceId: w.invoice,
      action: 'download',
      outcome: 'allowed',
    });

    const start = new Date(Date.UTC(new Date().getUTCFullYear() + 1, 2, 4, 11, 0)).toISOString();
    const booking = await traced('POST', '/api/appointments', w.asPatient.headers, {
      patientId: w.patient,
      doctorId: w.doctor,
      start,
      durationMinutes: 30,
      serviceType: 'consultation',
    });
    const appointment = (expectStatus(booking.response, 201).body as { id: string }).id;
    expect(await onlyEntryOf(booking.requestId, w.patient, 'appointment-service')).toMatchObject({
      action: 'create',
      resource: 'appointment',
      resourceId: appointment,
      actor: { kind: 'user', patientId: w.patient },
    });
    // The booking's check of the patient record is an access of its own, by appointment-service.
    expect(await onlyEntryOf(booking.requestId, w.patient, 'patient-service')).toMatchObject({
      action: 'read',
      actor: { kind: 'service', appId: 'appointment-service' },
      clientAddress: null,
      clientRequestId: booking.clientRequestId,
    });
  });

  it('a denied attempt is recorded as denied, and answers like an absent record', async () => {
    const denied = await traced('GET', `/api/patients/${w.patient}`, w.asOtherDoctor.headers);
    expectStatus(denied.response, 404);
    expect(await onlyEntryOf(denied.requestId, w.patient)).toMatchObject({
      actor: { kind: 'user', doctorId: w.otherDoctor },
      action: 'read',
      patientIds: [w.patient],
      outcome: 'denied',
      status: 404,
    });

    const booking = await traced('POST', '/api/appointments', w.asPatient.headers, {
      patientId: await createPatient(),
      doctorId: w.doctor,
      start: new Date(Date.UTC(new Date().getUTCFullYear() + 1, 2, 5, 11, 0)).toISOString(),
      durationMinutes: 30,
      serviceType: 'consultation',
    });
    expectStatus(booking.response, 403);
    expect(await onlyEntryOf(booking.requestId, undefined, 'appointment-service')).toMatchObject({
      action: 'create',
      outcome: 'denied',
      status: 403,
    });
  });
});

describe('the trail is read, never written, through the API', () => {
  it('admins only: others are refused', async () => {
    for (const who of [w.asReception.headers, w.asDoctor.headers, w.asPatient.headers]) {
      expect((await api('GET', `/api/audit?patientId=${w.patient}`, undefined, who)).status).toBe(403);
    }
    expectStatus(await api('GET', '/api/audit?patientId=not-a-uuid', undefined, admin), 400);
  });

  it('no route changes or removes an entry', async () => {
    const { requestId } = await traced('GET', `/api/patients/${w.patient}`, admin);
    const entry = await onlyEntryOf(requestId, w.patient);
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      for (const url of ['/api/audit', `/api/audit/${entry.id}`]) {
        const response = await api(method, url, { outcome: 'allowed', patientIds: [] }, admin);
        expect([response.status, method, url]).toEqual([expect.any(Number), method, url]);
        expect([403, 404, 405]).toContain(response.status);
      }
    }
    expect(await onlyEntryOf(requestId, w.patient)).toEqual(entry);
  });

  it('a patient sees who accessed their data, without staff-internal detail; not anyone else’s', async () => {
    const read = await traced('GET', `/api/patients/${w.patient}`, w.asDoctor.headers);
    expectStatus(read.response, 200);
    await onlyEntryOf(read.requestId, w.patient);
    // Another patient's attempt is logged as denied, and labelled as what it was: not the staff.
    const stranger = await account(['patient'], { patientId: await createPatient() });
    const attempt = await traced('GET', `/api/patients/${w.patient}`, stranger.headers);
    expectStatus(attempt.response, 404);
    await onlyEntryOf(attempt.requestId, w.patient);
    const log = { items: await accessLogOf(w.patient, w.asPatient.headers) };
    expect(log.items).toContainEqual(
      expect.objectContaining({
        action: 'read',
        record: 'patient',
        outcome: 'allowed',
        accessedBy: { kind: 'doctor', doctorId: w.doctor },
      }),
    );
    expect(log.items).toContainEqual(expect.objectContaining({ action: 'change', accessedBy: { kind: 'you' } }));
    expect(log.items).toContainEqual(
      expect.objectContaining({ outcome: 'denied', accessedBy: { kind: 'doctor', doctorId: w.otherDoctor } }),
    );
    expect(log.items).toContainEqual(expect.objectContaining({ outcome: 'denied', accessedBy: { kind: 'another-user' } }));
    const text = JSON.stringify(log);
    for (const internal of [
      w.asDoctor.userId,
      w.asReception.userId,
      stranger.userId,
      '127.0.0.1',
      read.requestId,
      read.clientRequestId,
      'clientAddress',
      'traceId',
      'requestId',
    ]) {
      expect(text).not.toContain(internal);
    }
    // The trail's cursor is opaque: one that is not its own is the client's error, not the trail down.
    expectStatus(await api('GET', `/api/patients/${w.patient}/access-log?cursor=${'0'.repeat(300)}`, undefined, w.asPatient.headers), 400);
    const someoneElse = await createPatient();
    expectStatus(await api('GET', `/api/patients/${someoneElse}/access-log`, undefined, w.asPatient.headers), 404);
    expectStatus(await api('GET', `/api/patients/${w.patient}/access-log`, undefined, w.asDoctor.headers), 403);
  });
});

describe('reading the trail is an access of its own', () => {
  it("an admin's search leaves one entry, about the patient it asked for, and storing it makes no other", async () => {
    const { response, requestId } = await traced('GET', `/api/audit?patientId=${w.patient}&limit=5`, admin);
    expectStatus(response, 200);
    expect(await onlyEntryOf(requestId, w.patient)).toMatchObject({
      actor: { kind: 'user', roles: expect.arrayContaining(['admin']) },
      service: 'analytics-service',
      resource: 'audit',
      resourceId: null,
      action: 'search',
      patientIds: [w.patient],
      outcome: 'allowed',
      status: 200,
      clientAddress: '127.0.0.1',
    });
  });

  it("a patient's access log leaves one entry, and its lookup in the trail one of patient-service's; the patient sees both", async () => {
    const { response, requestId } = await traced('GET', `/api/patients/${w.patient}/access-log?limit=5`, w.asPatient.headers);
    expectStatus(response, 200);
    const entries = await entriesOf(requestId, w.patient);
    expect(entries.map((entry) => entry.service).sort()).toEqual(['analytics-service', 'patient-service']);
    expect(entries.find((entry) => entry.service === 'patient-service')).toMatchObject({
      actor: { kind: 'user', userId: w.asPatient.userId, roles: ['patient'], patientId: w.patient },
      resource: 'audit',
      resourceId: w.patient,
      action: 'read',
      patientIds: [w.patient],
      outcome: 'allowed',
      status: 200,
    });
    // The peer's read on the patient's behalf, as every peer access is recorded.
    expect(entries.find((entry) => entry.service === 'analytics-service')).toMatchObject({
      actor: { kind: 'service', appId: 'patient-service' },
      resource: 'audit',
      action: 'search',
      patientIds: [w.patient],
      outcome: 'allowed',
      clientAddress: null,
    });
    // The access log names both in the patient's terms.
    const log = { items: await accessLogOf(w.patient, w.asPatient.headers) };
    expect(log.items).toContainEqual(
      expect.objectContaining({ record: 'audit', recordId: w.patient, action: 'read', outcome: 'allowed', accessedBy: { kind: 'you' } }),
    );
    expect(log.items).toContainEqual(expect.objectContaining({ record: 'audit', action: 'search', accessedBy: { kind: 'clinic-system' } }));
  });

  it("a denied read of someone's access log is recorded as denied, and looks nothing up", async () => {
    const stranger = await account(['patient'], { patientId: await createPatient() });
    const { response, requestId } = await traced('GET', `/api/patients/${w.patient}/access-log`, stranger.headers);
    expectStatus(response, 404);
    expect(await onlyEntryOf(requestId, w.patient)).toMatchObject({
      actor: { kind: 'user', userId: stranger.userId, roles: ['patient'] },
      service: 'patient-service',
      resource: 'audit',
      resourceId: w.patient,
      action: 'read',
      patientIds: [w.patient],
      outcome: 'denied',
      status: 404,
    });
  });
});

describe('a write and its entry commit together', () => {
  /** The database of one service of this stack (each stack has its own). */
  const databaseOf = (appId: string) => new pg.Pool({ connectionString: stack.secrets()[appId]!.databaseUrl, max: 1 });
  const booking = (day: number) => ({
    patientId: w.patient,
    doctorId: w.doctor,
    start: new Date(Date.UTC(new Date().getUTCFullYear() + 1, 3, day, 9, 0)).toISOString(),
    durationMinutes: 30,
    serviceType: 'consultation',
  });

  it('a booking whose entry cannot be written is not made (503), nor a cancellation of an invoice', async () => {
    const appointments = databaseOf('appointment-service');
    const billing = databaseOf('billing-service');
    // The outboxes of this stack's own databases refuse new audit rows, and only those.
    const refuseAudit = "ALTER TABLE outbox ADD CONSTRAINT test_refuses_audit CHECK (topic NOT LIKE 'audit%') NOT VALID";
    try {
      await Promise.all([appointments.query(refuseAudit), billing.query(refuseAudit)]);
      const refused = booking(7);
      expectStatus(await api('POST', '/api/appointments', refused, w.asReception.headers), 503);
      const cancel = await api('POST', `/api/billing/invoices/${w.invoice}/cancel`, { reason: 'audit down' }, admin);
      expectStatus(cancel, 503);
      const { rows } = await appointments.query('SELECT count(*)::int AS n FROM appointments WHERE patient_id = $1 AND start_at = $2', [
        w.patient,
        refused.start,
      ]);
      expect(rows[0].n).toBe(0);
      const invoice = await billing.query('SELECT status FROM invoices WHERE id = $1', [w.invoice]);
      expect(invoice.rows[0].status).not.toBe('cancelled');
    } finally {
      const allowAudit = 'ALTER TABLE outbox DROP CONSTRAINT IF EXISTS test_refuses_audit';
      await Promise.all([appointments.query(allowAudit), billing.query(allowAudit)]);
      await Promise.all([appointments.end(), billing.end()]);
    }
  });

  it('a booking and its entry are one statement: same transaction, one entry, allowed 201', async () => {
    const appointments = databaseOf('appointment-service');
    // The relay updates a row it publishes (a new xmin): held off by the lock every claim takes first.
    const relayHeld = new pg.Client({ connectionString: stack.secrets()['appointment-service']!.databaseUrl });
    await relayHeld.connect();
    await relayHeld.query('BEGIN');
    await relayHeld.query("SELECT pg_advisory_xact_lock(hashtext('caregrid.outbox.claim'))");
    try {
      const booked = await traced('POST', '/api/appointments', w.asReception.headers, booking(8));
      const { id } = expectStatus(booked.response, 201).body as { id: string };
      const { rows } = await appointments.query(
        `SELECT a.xmin::text AS booked_in, o.xmin::text AS entry_in, o.data AS entry
           FROM appointments a JOIN outbox o ON o.topic LIKE 'audit.%' AND o.data->>'requestId' = $2
          WHERE a.id = $1`,
        [id, booked.requestId],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0].entry_in).toBe(rows[0].booked_in);
      expect(rows[0].entry).toMatchObject({ action: 'create', resourceId: id, patientIds: [w.patient], outcome: 'allowed', status: 201 });
    } finally {
      await relayHeld.end();
      await appointments.end();
    }
  });
});

describe('an entry survives a crash of the service right after it answered', () => {
  it('is in the outbox before the answer leaves, and reaches the trail after a restart', async () => {
    const patientDb = new pg.Pool({ connectionString: stack.secrets()['patient-service']!.databaseUrl, max: 1 });
    try {
      const member = stack.member('patient-service');
      const { response, requestId } = await traced('GET', `/api/patients/${w.patient}`, w.asReception.headers);
      expectStatus(response, 200);
      // Killed before its relay's next pass (entries ride it, within a second) could publish.
      process.kill(-member.process.child.pid!, 'SIGKILL');
      await member.process.exited;
      const rows = await patientDb.query(`SELECT published_at FROM outbox WHERE topic LIKE 'audit.%' AND data->>'requestId' = $1`, [
        requestId,
      ]);
      expect(rows.rowCount).toBe(1);
      await member.restartApp();
      const entry = await onlyEntryOf(requestId, w.patient);
      expect(entry).toMatchObject({ action: 'read', outcome: 'allowed', actor: { userId: w.asReception.userId } });
    } finally {
      await patientDb.end();
    }
  });
});
