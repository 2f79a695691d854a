/**
 * R3 (issue 15), every process real: billing's database is taken away from
 * billing alone (the shared PostgreSQL server keeps running) for longer than
 * the delivery retries while 20 appointments are paid. Their appointment.paid
 * events go to billing's own dead-letter topic; billing parks them once its
 * database is back, an admin sees them through the gateway and re-drives one,
 * and bulk re-drives the rest by topic (the automatic re-drive would, a little
 * later): exactly 20 invoices, numbered without a gap, none doubled, and a
 * backlog of zero.
 */
import pg from 'pg';
import { appointmentPaid, deadLetterTopic, Topics } from '@caregrid/contracts';
import {
  doctorProfile,
  eventually,
  jsonClient,
  readTopic,
  readyAccount,
  setDatabaseAvailable,
  bootstrapAdminAuth,
  startTestStack,
  nextMonday,
  type TestStack,
} from '@caregrid/devkit';

const PAYMENTS = 20;
// Also how long a parked letter waits for a person before the automatic re-drive takes it.
const REDRIVE_MS = 15_000;

let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let admin: Record<string, string>;
let receptionist: Record<string, string>;

type Letter = { id: string; topic: string; type: string; subject: string; count: number; firstSeenAt: string };

async function billingQuery<R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: stack.secrets()['billing-service']!.databaseUrl });
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

async function parked(): Promise<Letter[]> {
  const letters: Letter[] = [];
  for (let cursor: string | null = null; ;) {
    const page = await api('GET', `/api/ops/billing-service/dead-letters?limit=100${cursor ? `&cursor=${cursor}` : ''}`, undefined, admin);
    expect(page.status).toBe(200);
    const body = page.body as { items: Letter[]; nextCursor: string | null };
    letters.push(...body.items);
    if (!(cursor = body.nextCursor)) return letters;
  }
}

const invoicesOf = async (appointmentIds: string[]) =>
  billingQuery<{ appointment_id: string; number: string }>(
    'SELECT appointment_id, number FROM invoices WHERE appointment_id = ANY($1::uuid[])',
    [appointmentIds],
  );

beforeAll(async () => {
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service', 'doctor-service', 'appointment-service', 'billing-service'],
    env: { gateway: { RATE_LIMIT_PER_MINUTE: '100000' }, 'billing-service': { DEAD_LETTER_REDRIVE_MS: String(REDRIVE_MS) } },
  });
  api = jsonClient(stack.url('gateway'));
  admin = await bootstrapAdminAuth(stack);
  const email = `reception.${Date.now()}@example.org`;
  receptionist = (await readyAccount(api, admin, { name: 'Rita', email, password: 'receptionist pass 1', roles: ['receptionist'] })).auth;
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

it('billing’s database down past the retry budget while 20 appointments are paid → parked, seen and re-driven: exactly 20 invoices, no gap', async () => {
  const n = Date.now();
  const doctor = await api(
    'POST',
    '/api/doctors',
    doctorProfile({ name: `Dr Outage ${n}`, workingHours: { mon: [{ start: '08:00', end: '18:00' }] }, fees: { checkup: 4_200 } }),
    admin,
  );
  expect(doctor.status).toBe(201);
  const appointments: string[] = [];
  for (let i = 0; i < PAYMENTS; i++) {
    const patient = await api(
      'POST',
      '/api/patients',
      { name: `Outage ${n} ${i}`, email: `outage.${n}.${i}@example.org`, dateOfBirth: '1970-01-01', gender: 'female' },
      admin,
    );
    const start = new Date(Date.parse(`${nextMonday(2)}T08:00:00Z`) + i * 30 * 60_000).toISOString();
    const booked = await api(
      'POST',
      '/api/appointments',
      {
        patientId: (patient.body as { id: string }).id,
        doctorId: (doctor.body as { id: string }).id,
        start,
        durationMinutes: 30,
        serviceType: 'checkup',
      },
      admin,
    );
    expect(booked.status).toBe(201);
    appointments.push((booked.body as { id: string }).id);
  }

  const billingDatabase = stack.secrets()['billing-service']!.databaseUrl!;
  await setDatabaseAvailable(billingDatabase, false);
  try {
    for (const id of appointments) {
      expect((await api('POST', `/api/appointments/${id}/payment`, { method: 'debit', amount: 4_200 }, admin)).status).toBe(200);
    }
    // Past the retry budget: every one of them was moved to billing's own dead-letter topic.
    await eventually(() => {
      const dead = new Set(
        readTopic(deadLetterTopic(Topics.appointments, 'billing-service'))
          .filter((e) => (e as { type?: string }).type === appointmentPaid.type)
          .map((e) => (e as { subject?: string }).subject),
      );
      return appointments.every((id) => dead.has(id)) ? true : undefined;
    }, 360_000);
    // The admin view needs the database too: a clean 503, never a 500.
    const down = await api('GET', '/api/ops/billing-service/dead-letters', undefined, admin);
    expect(down).toMatchObject({ status: 503, body: { status: 503 } });
    expect(await invoicesOf(appointments).catch(() => 'unavailable')).toBe('unavailable');
  } finally {
    await setDatabaseAvailable(billingDatabase, true);
  }

  // The drain kept asking for redelivery; now each is parked once, listed without its payload.
  const letters = await eventually(async () => {
    const mine = (await parked()).filter((l) => appointments.includes(l.subject));
    return mine.length === PAYMENTS ? mine : undefined;
  }, 60_000);
  for (const letter of letters) {
    expect(letter).toMatchObject({ topic: Topics.appointments, type: appointmentPaid.type, count: 1 });
    expect(letter).not.toHaveProperty('event');
  }
  expect(new Set(letters.map((l) => l.id)).size).toBe(PAYMENTS);

  // Operations are the admin's: a receptionist may neither look nor re-drive.
  const first = letters[0]!;
  expect((await api('GET', '/api/ops/billing-service/dead-letters', undefined, receptionist)).status).toBe(403);
  expect((await api('POST', `/api/ops/billing-service/dead-letters/${first.id}/redrive`, undefined, receptionist)).status).toBe(403);

  // An admin re-drives one by hand (a fresh letter waits one interval for that): invoiced, unparked.
  expect(Date.now() - Date.parse(first.firstSeenAt)).toBeLessThan(REDRIVE_MS);
  expect(await api('POST', `/api/ops/billing-service/dead-letters/${first.id}/redrive`, undefined, admin)).toMatchObject({
    status: 200,
    body: { id: first.id, outcome: 'redriven' },
  });
  expect(await invoicesOf([first.subject])).toHaveLength(1);
  expect((await api('POST', `/api/ops/billing-service/dead-letters/${first.id}/redrive`, undefined, admin)).status).toBe(404);

  // The backlog says what waits, by topic; the admin re-drives the other 19 in bulk, at once (no waiting for the next pass).
  const backlog = await api('GET', '/api/ops/billing-service/backlog', undefined, admin);
  expect(backlog).toMatchObject({ status: 200, body: { service: 'billing-service', deadLetters: { parked: PAYMENTS - 1, poison: 0 } } });
  expect((backlog.body as { deadLetters: { byTopic: unknown[] } }).deadLetters.byTopic).toEqual([
    { topic: Topics.appointments, parked: PAYMENTS - 1, poison: 0 },
  ]);
  expect((await api('GET', '/api/ops/billing-service/backlog', undefined, receptionist)).status).toBe(403);
  expect((await api('POST', '/api/ops/billing-service/dead-letters/redrive', {}, receptionist)).status).toBe(403);
  expect(await api('POST', '/api/ops/billing-service/dead-letters/redrive', { topic: 'invoices' }, admin)).toMatchObject({
    status: 202,
    body: { scheduled: 0 },
  });
  const bulk = await api('POST', '/api/ops/billing-service/dead-letters/redrive', { topic: Topics.appointments }, admin);
  expect(bulk).toMatchObject({ status: 202, body: { scheduled: PAYMENTS - 1 } });
  await eventually(async () => ((await invoicesOf(appointments)).length === PAYMENTS ? true : undefined), REDRIVE_MS / 2);
  await eventually(async () => ((await parked()).some((l) => appointments.includes(l.subject)) ? undefined : true), 4 * REDRIVE_MS);
  // Quiet again: nothing parked, and the invoices' own events published (the relay goes right after the commit).
  const quiet = await eventually(async () => {
    const { body } = await api('GET', '/api/ops/billing-service/backlog', undefined, admin);
    return (body as { outbox: { pending: number } }).outbox.pending === 0 ? body : undefined;
  }, 30_000);
  expect(quiet).toMatchObject({
    deadLetters: { parked: 0, poison: 0, oldestParkedAt: null, byTopic: [] },
    outbox: { pending: 0, parked: 0 },
  });

  // One invoice per appointment; this stack's numbering (whatever else its billing invoiced) has no gap and no double.
  const invoices = await invoicesOf(appointments);
  expect(new Set(invoices.map((i) => i.appointment_id)).size).toBe(PAYMENTS);
  const numbers = (await billingQuery<{ number: string }>('SELECT number FROM invoices')).map((r) => Number(r.number.slice(-6)));
  numbers.sort((a, b) => a - b);
  expect(numbers).toEqual(numbers.map((_, i) => i + 1));
  const [counter] = await billingQuery<{ last: number }>('SELECT max(last) AS last FROM invoice_counters');
  expect(counter!.last).toBe(numbers.length);
}, 720_000);
