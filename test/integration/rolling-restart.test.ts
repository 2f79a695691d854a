/**
 * A rolling restart under load loses no request: patient-service runs as two replicas (each with
 * its daprd) behind the gateway; while clients read and create patients, the replicas are
 * restarted one after the other as the launcher does it (SIGTERM: readiness fails first, the
 * launcher takes the instance out of name resolution, in-flight requests finish, the listener
 * closes; then a fresh process, routed to again once ready). Every answer is 2xx and every
 * created patient can be read back.
 */
import { jsonClient, bootstrapAdminAuth, startTestStack, type TestStack } from '@caregrid/devkit';

let stack: TestStack;
let admin: Record<string, string>;
let patientId: string;

const READERS = 6;
const WRITERS = 2;
let seq = 0;
const newPatient = () => ({
  name: `Rolling ${++seq}`,
  email: `rolling.${seq}.${Date.now()}@example.org`,
  dateOfBirth: '1975-05-05',
  gender: 'female',
});

beforeAll(async () => {
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service'],
    replicas: { 'patient-service': 2 },
    env: { gateway: { RATE_LIMIT_PER_MINUTE: '1000000' } },
  });
  const api = jsonClient(stack.url('gateway'));
  admin = await bootstrapAdminAuth(stack);
  const created = await api('POST', '/api/patients', newPatient(), admin);
  expect(created.status).toBe(201);
  patientId = (created.body as { id: string }).id;
}, 180_000);

afterAll(() => stack?.stop());

it('restarting the replicas one after the other under reads and writes: every answer 2xx, every write landed', async () => {
  const api = jsonClient(stack.url('gateway'));
  const failures: string[] = [];
  const createdIds: string[] = [];
  let answered = 0;
  let done = false;
  const deadline = Date.now() + 90_000; // bounded even if a restart hangs
  const loop = async (request: () => Promise<void>) => {
    while (!done && Date.now() < deadline) {
      try {
        await request();
      } catch (error) {
        failures.push(`no answer: ${(error as Error).message}`);
      }
      answered++;
    }
  };
  const read = async () => {
    const response = await api('GET', `/api/patients/${patientId}`, undefined, admin);
    if (response.status !== 200) failures.push(`GET ${response.status} ${JSON.stringify(response.body)}`);
  };
  const write = async () => {
    const response = await api('POST', '/api/patients', newPatient(), admin);
    if (response.status === 201) createdIds.push((response.body as { id: string }).id);
    else failures.push(`POST ${response.status} ${JSON.stringify(response.body)}`);
  };
  const clients = [...Array.from({ length: READERS }, () => loop(read)), ...Array.from({ length: WRITERS }, () => loop(write))];

  const pids: number[] = [];
  const restarted: { status: string; inRotation?: boolean }[] = [];
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const name of ['patient-service', 'patient-service-2']) {
      const member = stack.member(name);
      pids.push(member.process.child.pid!);
      await member.restartApp();
      restarted.push({ status: member.status, inRotation: member.inRotation });
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  } finally {
    done = true;
    await Promise.all(clients);
  }

  expect({ failed: failures.length, first: failures.slice(0, 3) }).toEqual({ failed: 0, first: [] });
  expect(restarted).toEqual([
    { status: 'healthy', inRotation: true },
    { status: 'healthy', inRotation: true },
  ]);
  expect(answered).toBeGreaterThan(100);
  expect([stack.member('patient-service').process.child.pid, stack.member('patient-service-2').process.child.pid]).not.toContain(pids[0]);
  expect(stack.member('patient-service-2').process.child.pid).not.toBe(pids[1]);
  // Every write landed: each created patient reads back.
  expect(createdIds.length).toBeGreaterThan(10);
  const missing: string[] = [];
  for (const id of createdIds) {
    if ((await api('GET', `/api/patients/${id}`, undefined, admin)).status !== 200) missing.push(id);
  }
  expect(missing).toEqual([]);
}, 120_000);
