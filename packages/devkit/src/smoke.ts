/**
 * The end-to-end smoke run through the public gateway only, for any deployment
 * (launcher, Compose, Kubernetes): sign-up and sign-in, the bootstrap admin,
 * a patient and a doctor, a booking paid, its invoice PDF, and analytics
 * counting it. Throws naming the step that failed.
 */
import { doctorProfile } from './fixtures.js';
import { jsonClient } from './testing.js';

export type SmokeOptions = {
  baseUrl: string;
  adminEmail: string;
  adminPassword: string;
  /** How long asynchronous steps (events through Kafka) may take. */
  timeoutMs?: number;
  log?: (line: string) => void;
};

type Reply = { status: number; body: Record<string, unknown> & { items?: Record<string, unknown>[] } };

class SmokeFailure extends Error {}

function nextMonday(): string {
  const date = new Date();
  date.setUTCDate(date.getUTCDate() + ((8 - date.getUTCDay()) % 7 || 7) + 7);
  return date.toISOString().slice(0, 10);
}

export async function runSmoke(options: SmokeOptions): Promise<{ steps: number; invoice: string }> {
  const log = options.log ?? (() => undefined);
  const timeoutMs = options.timeoutMs ?? 60_000;
  let steps = 0;
  const send = jsonClient(options.baseUrl);
  const call = async (method: string, path: string, body?: unknown, token?: string): Promise<Reply> => {
    const reply = await send(method, path, body, token ? { authorization: `Bearer ${token}` } : {});
    return { status: reply.status, body: (reply.body ?? {}) as Reply['body'] };
  };
  const step = async <T>(name: string, action: () => Promise<T>): Promise<T> => {
    try {
      const result = await action();
      steps += 1;
      log(`ok   ${name}`);
      return result;
    } catch (error) {
      throw new SmokeFailure(`smoke step "${name}" failed: ${(error as Error).message}`, { cause: error });
    }
  };
  const expectStatus = (reply: Reply, status: number) => {
    if (reply.status !== status) throw new Error(`expected ${status}, got ${reply.status}: ${JSON.stringify(reply.body)}`);
    return reply.body;
  };
  const eventually = async <T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await attempt();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  };

  const run = `${Date.now()}-${Math.random().toString(36).slice(2, 6)}`;
  await step('gateway is ready', async () => expectStatus(await call('GET', '/readyz'), 200));
  await step('a protected route refuses a request without a token', async () => expectStatus(await call('GET', '/api/patients'), 401));
  const patientToken = await step('a patient signs up, signs in and reads /me', async () => {
    const credentials = { email: `smoke.${run}@example.org`, password: `smoke pass ${run}` };
    // 202 and a neutral body, the same for a taken email: the account shows itself only once signed in.
    expectStatus(await call('POST', '/api/auth/register', { name: 'Smoke Patient', ...credentials }), 202);
    const { accessToken } = expectStatus(await call('POST', '/api/auth/login', credentials), 200) as { accessToken: string };
    const me = expectStatus(await call('GET', '/api/auth/me', undefined, accessToken), 200) as { email?: string };
    if (me.email !== credentials.email) throw new Error(`/me is not the registered account: ${JSON.stringify(me)}`);
    return accessToken;
  });
  await step('a patient may not list patients', async () => expectStatus(await call('GET', '/api/patients', undefined, patientToken), 403));
  const admin = await step('the bootstrap admin signs in', async () => {
    const login = expectStatus(await call('POST', '/api/auth/login', { email: options.adminEmail, password: options.adminPassword }), 200);
    return login.accessToken as string;
  });
  const patientId = await step('staff registers a patient', async () => {
    const body = { name: `Smoke ${run}`, email: `patient.${run}@example.org`, dateOfBirth: '1980-02-03', gender: 'female' };
    return expectStatus(await call('POST', '/api/patients', body, admin), 201).id as string;
  });
  const doctorId = await step('the admin adds a doctor', async () => {
    const body = doctorProfile({
      name: `Dr Smoke ${run}`,
      specialization: 'general-practice',
      workingHours: { mon: [{ start: '08:00', end: '18:00' }] },
      fees: { checkup: 4_200 },
    });
    return expectStatus(await call('POST', '/api/doctors', body, admin), 201).id as string;
  });
  const appointmentId = await step('an appointment is booked (records verified by invocation, priced by the tariff)', async () => {
    const body = { patientId, doctorId, start: `${nextMonday()}T10:00:00Z`, durationMinutes: 30, serviceType: 'checkup' };
    const booked = expectStatus(await call('POST', '/api/appointments', body, admin), 201);
    if (booked.amount !== 4_200 || booked.currency !== 'EUR')
      throw new Error(`priced ${booked.amount} ${booked.currency}, tariff says 4200 EUR`);
    return booked.id as string;
  });
  await step('the appointment is paid', async () =>
    expectStatus(await call('POST', `/api/appointments/${appointmentId}/payment`, { method: 'debit', amount: 4_200 }, admin), 200),
  );
  const invoice = await step('billing issues the invoice from the appointment.paid event', () =>
    eventually('invoice', async () => {
      const page = expectStatus(await call('GET', `/api/billing/invoices?appointmentId=${appointmentId}`, undefined, admin), 200);
      return (page.items as { id: string; number: string }[] | undefined)?.[0];
    }),
  );
  await step('the invoice PDF downloads', async () => {
    const response = await fetch(`${options.baseUrl}/api/billing/invoices/${invoice.id}/pdf`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    const head = Buffer.from(await response.arrayBuffer())
      .subarray(0, 5)
      .toString();
    if (response.status !== 200 || head !== '%PDF-') throw new Error(`status ${response.status}, starts with ${JSON.stringify(head)}`);
  });
  await step('analytics counts the booking', () =>
    eventually('analytics summary', async () => {
      const summary = expectStatus(await call('GET', '/api/analytics/summary', undefined, admin), 200) as {
        appointments?: { booked?: number };
      };
      return (summary.appointments?.booked ?? 0) >= 1 ? summary : undefined;
    }),
  );
  return { steps, invoice: invoice.number };
}
