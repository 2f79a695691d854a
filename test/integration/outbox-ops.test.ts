/**
 * Parked outbox events through the gateway, on the real stack: a poison event
 * in patient-service's outbox parks after OUTBOX_MAX_ATTEMPTS while patients
 * keep being published; an admin sees it (no payload) at
 * /api/ops/patient-service/outbox and re-drives it; a receptionist may do
 * neither.
 */
import pg from 'pg';
import { uuidv7 } from '@caregrid/platform';
import {
  eventually,
  jsonClient,
  readyAccount,
  bootstrapAdminAuth,
  startTestStack,
  PASSWORD,
  expectStatus,
  type TestStack,
} from '@caregrid/devkit';

let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let admin: Record<string, string>;
let reception: Record<string, string>;
let db: pg.Pool;

type Parked = { id: string; topic: string; type: string; subject: string; attempts: number; lastError: string | null; held: number };

beforeAll(async () => {
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service'],
    env: { 'patient-service': { OUTBOX_MAX_ATTEMPTS: '2' }, gateway: { RATE_LIMIT_PER_MINUTE: '100000' } },
  });
  api = jsonClient(stack.url('gateway'));
  admin = await bootstrapAdminAuth(stack);
  const email = `reception.${Date.now()}@example.org`;
  reception = (await readyAccount(api, admin, { email, password: PASSWORD, roles: ['receptionist'] })).auth;
  db = new pg.Pool({ connectionString: stack.secrets()['patient-service']!.databaseUrl });
});

afterAll(async () => {
  await db?.end();
  await stack?.stop();
});

let patients = 0;
const createPatient = async () =>
  expectStatus(
    await api(
      'POST',
      '/api/patients',
      {
        name: `Ops Patient ${++patients}`,
        email: `ops.${patients}.${Date.now()}@example.org`,
        dateOfBirth: '1980-01-01',
        gender: 'other',
        details: { insurance: { provider: 'X', policyNumber: 'Y' } },
      },
      admin,
    ),
    201,
  );

it('a poison event parks while the rest is published; the admin sees it without its payload and re-drives it; a receptionist gets 403', async () => {
  // An event Kafka refuses on every try (larger than its 1 MB message limit).
  const poison = uuidv7();
  const subject = uuidv7();
  await db.query('INSERT INTO outbox (id, topic, type, subject, data) VALUES ($1, $2, $3, $4, $5)', [
    poison,
    'patients',
    'caregrid.patient.updated.v1',
    subject,
    JSON.stringify({ blob: 'x'.repeat(1_500_000) }),
  ]);

  // Patients registered meanwhile: their events keep flowing while the poison fails until it parks.
  const parked = await eventually(async () => {
    await createPatient();
    const page = expectStatus(await api('GET', '/api/ops/patient-service/outbox', undefined, admin), 200).body as { items: Parked[] };
    return page.items.find((item) => item.id === poison);
  }, 60_000);
  expect(parked).toMatchObject({ topic: 'patients', type: 'caregrid.patient.updated.v1', subject, attempts: 2, held: 0 });
  expect(parked.lastError).toMatch(/MaxMessageBytes|too large/i);
  expect(parked).not.toHaveProperty('data');
  // Every patient registered meanwhile went out: only the poison row is pending.
  await eventually(async () => {
    const { rows: pending } = await db.query<{ id: string }>('SELECT id FROM outbox WHERE published_at IS NULL');
    return pending.length === 1 && pending[0]!.id === poison ? true : undefined;
  });

  expectStatus(await api('GET', '/api/ops/patient-service/outbox', undefined, reception), 403);
  expectStatus(await api('POST', `/api/ops/patient-service/outbox/${poison}/redrive`, undefined, reception), 403);
  expectStatus(await api('POST', `/api/ops/patient-service/outbox/${uuidv7()}/redrive`, undefined, admin), 404);
  expectStatus(await api('POST', '/api/ops/patient-service/outbox/not-an-id/redrive', undefined, admin), 400);

  expectStatus(await api('POST', `/api/ops/patient-service/outbox/${poison}/redrive`, undefined, admin), 204);
  const { rows } = await db.query<{ parked_at: Date | null; attempts: number }>('SELECT parked_at, attempts FROM outbox WHERE id = $1', [
    poison,
  ]);
  expect(rows[0]).toEqual({ parked_at: null, attempts: 0 });
  // Re-driven but still too large: it is tried again, and parks again once it has failed twice more.
  await eventually(async () => {
    await createPatient();
    const page = (await api('GET', '/api/ops/patient-service/outbox', undefined, admin)).body as { items: Parked[] };
    return page.items.find((item) => item.id === poison && item.attempts === 2);
  }, 60_000);
});
