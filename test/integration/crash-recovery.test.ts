/**
 * R4, a crashed service (gateway, auth-service and patient-service, each with its real daprd,
 * supervised as `npm run dev` supervises them): under a steady load of reads through the gateway,
 * patient-service's app, then its sidecar, is killed with SIGKILL. Clients see 200s or quick 503
 * problem+json with a Retry-After (no hang, no 500/502), and reads succeed again by themselves once
 * the launcher's supervisor has restarted the process.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { jsonClient, bootstrapAdminAuth, startTestStack, type TestStack } from '@caregrid/devkit';

let stack: TestStack;
let admin: Record<string, string>;
let patientId: string;

type Answer = { sentAt: number; ms: number; status: number; problem: boolean; retryAfter: string | null };

const CLIENTS = 8;
const QUICK_MS = 2_000;
const RECOVERY_MS = 15_000;

beforeAll(async () => {
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service'],
    env: { gateway: { RATE_LIMIT_PER_MINUTE: '1000000' } },
  });
  const api = jsonClient(stack.url('gateway'));
  admin = await bootstrapAdminAuth(stack);
  const created = await api(
    'POST',
    '/api/patients',
    { name: 'Crash Test', email: `crash.${Date.now()}@example.org`, dateOfBirth: '1980-01-01', gender: 'other' },
    admin,
  );
  expect(created.status).toBe(201);
  patientId = (created.body as { id: string }).id;
}, 180_000);

afterAll(() => stack?.stop());

/**
 * Reads the patient with CLIENTS concurrent clients while `fault` runs, then until reads have
 * succeeded again for a second (or RECOVERY_MS after the fault), and returns every answer.
 */
async function underLoad(fault: () => void): Promise<{ answers: Answer[]; faultAt: number }> {
  const answers: Answer[] = [];
  let faultAt = Number.POSITIVE_INFINITY;
  let done = false;
  const client = async () => {
    while (!done) {
      const sentAt = Date.now();
      try {
        const response = await fetch(`${stack.url('gateway')}/api/patients/${patientId}`, {
          headers: admin,
          signal: AbortSignal.timeout(RECOVERY_MS),
        });
        await response.arrayBuffer();
        answers.push({
          sentAt,
          ms: Date.now() - sentAt,
          status: response.status,
          problem: (response.headers.get('content-type') ?? '').includes('application/problem+json'),
          retryAfter: response.headers.get('retry-after'),
        });
      } catch {
        answers.push({ sentAt, ms: Date.now() - sentAt, status: 0, problem: false, retryAfter: null });
      }
    }
  };
  const clients = Array.from({ length: CLIENTS }, client);
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    faultAt = Date.now();
    fault();
    // Bounded: stop once reads have been fine for a second after the first failure, or at the recovery deadline.
    while (Date.now() - faultAt < RECOVERY_MS) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const after = answers.filter((a) => a.sentAt > faultAt);
      const firstFailure = after.find((a) => a.status !== 200);
      const recent = after.filter((a) => a.sentAt > Date.now() - 1_000);
      if (
        firstFailure &&
        recent.length > 0 &&
        recent.every((a) => a.status === 200) &&
        after.at(-1)!.sentAt > firstFailure.sentAt + 1_000
      ) {
        break;
      }
    }
  } finally {
    done = true;
    await Promise.all(clients);
  }
  return { answers, faultAt };
}

function expectOutage(answers: Answer[], faultAt: number): void {
  const unexpected = answers.filter((a) => a.status !== 200 && !(a.status === 503 && a.problem && a.retryAfter));
  expect(unexpected).toEqual([]);
  const slow503 = answers.filter((a) => a.status === 503 && a.ms >= QUICK_MS);
  expect(slow503).toEqual([]);
  // The fault was seen, and reads came back by themselves.
  const after = answers.filter((a) => a.sentAt >= faultAt);
  const lastFailure = after.filter((a) => a.status === 503).at(-1);
  expect(lastFailure).toBeDefined();
  const recovered = after.filter((a) => a.status === 200 && a.sentAt > lastFailure!.sentAt);
  expect(recovered.length).toBeGreaterThan(0);
  expect(recovered[0]!.sentAt - faultAt).toBeLessThan(RECOVERY_MS);
}

const supervisorLog = () => readFileSync(path.join(stack.logDir, 'supervisor.log'), 'utf8');

it('an app killed under load: 503 problem+json within 2 s, then the launcher restarts it and reads succeed again', async () => {
  const member = stack.member('patient-service');
  const before = member.process.child.pid!;
  const { answers, faultAt } = await underLoad(() => process.kill(before, 'SIGKILL'));

  expectOutage(answers, faultAt);
  expect(member.process.child.pid).not.toBe(before);
  expect(supervisorLog()).toMatch(/patient-service app exited \(SIGKILL\); restarting it in \d+ ms/);
}, 60_000);

it('a sidecar killed under load: 503 problem+json within 2 s, then the launcher restarts it and reads succeed again', async () => {
  const member = stack.member('patient-service');
  const before = member.sidecar.child.pid!;
  const { answers, faultAt } = await underLoad(() => process.kill(before, 'SIGKILL'));

  expectOutage(answers, faultAt);
  expect(member.sidecar.child.pid).not.toBe(before);
  expect(supervisorLog()).toMatch(/patient-service sidecar exited \(SIGKILL\); restarting it in \d+ ms/);
}, 60_000);
