/**
 * Account mail end to end, every process real (gateway, auth-, patient-, doctor-, appointment- and
 * notification-service with their sidecars, Kafka, PostgreSQL, Mailpit): auth-service's request
 * travels on `accounts` to notification-service, which fetches the recipient and a fresh link from
 * auth-service and mails it through the `mail` binding. The mailed link is what the person
 * follows: confirm and book; reset a forgotten password once; accept an invitation and sign in.
 * Mail is read back through Mailpit's API, by unique recipients (Mailpit is shared).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { accountMailRequested } from '@caregrid/contracts';
import {
  doctorProfile,
  eventually,
  jsonClient,
  mailpit,
  bootstrapAdminAuth,
  startTestStack,
  uniqueName,
  PASSWORD,
  bearer,
  type TestStack,
} from '@caregrid/devkit';

let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let admin: Record<string, string>;
let doctorId: string;
let ledger: pg.Pool;
const server = mailpit();

const uniqueEmail = (label: string) => `${uniqueName(label)}@example.org`;

beforeAll(async () => {
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service', 'doctor-service', 'appointment-service', 'notification-service'],
    env: { gateway: { RATE_LIMIT_PER_MINUTE: '100000' }, 'notification-service': { MAIL_POLL_MS: '200' } },
  });
  api = jsonClient(stack.url('gateway'));
  admin = await bootstrapAdminAuth(stack);
  const everyDay = Object.fromEntries(
    ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [{ start: '00:00', end: '23:30' }]]),
  );
  const doctor = await api('POST', '/api/doctors', doctorProfile({ workingHours: everyDay }), admin);
  expect(doctor.status).toBe(201);
  doctorId = (doctor.body as { id: string }).id;
  ledger = new pg.Pool({ connectionString: stack.secrets()['notification-service']!.databaseUrl, max: 1 });
}, 240_000);

afterAll(async () => {
  await ledger?.end();
  await stack?.stop();
});

/** An account mail request as auth-service's outbox publishes it, delivered straight to the app's route as its sidecar would. */
async function deliverRequest(data: { requestId: string; accountId: string; purpose: string; expiresAt: string }): Promise<unknown> {
  const response = await fetch(`${stack.url('notification-service')}/events/account-mail-requested`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json', 'dapr-api-token': stack.member('notification-service').appApiToken! },
    body: JSON.stringify({
      specversion: '1.0',
      id: uniqueName('account-mail'),
      source: 'auth-service',
      type: accountMailRequested.type,
      datacontenttype: 'application/json',
      data,
    }),
  });
  expect(response.status).toBe(200);
  return response.json();
}

/** The ledger's row of a request (no route shows account mail: it is read where it is kept). */
async function noticeOfRequest(requestId: string) {
  const { rows } = await ledger.query<{ status: string; attempts: number; last_error: string | null; kind: string }>(
    'SELECT status, attempts, last_error, kind FROM notices WHERE request_id = $1',
    [requestId],
  );
  return rows;
}

/** The one mail to `to` whose subject starts with `prefix` (waits for it), its link and the link's token. */
async function mailedLink(to: string, prefix: string): Promise<{ subject: string; text: string; link: string; token: string }> {
  const [summary] = await eventually(async () => {
    const found = (await server.messagesTo(to)).filter((m) => m.Subject.startsWith(prefix));
    return found.length ? found : undefined;
  }, 45_000);
  const message = await server.message(summary!.ID);
  const href = /<a href="([^"]+)"/.exec(message.HTML)?.[1];
  expect(href).toBeDefined();
  const link = href!.replace(/&amp;/g, '&');
  return { subject: message.Subject, text: message.Text, link, token: new URL(link.replace('/#/', '/')).searchParams.get('token')! };
}

const signIn = (email: string, password = PASSWORD) => api('POST', '/api/auth/login', { email, password });

let slot = 0;
const nextSlot = () => new Date(Date.UTC(new Date().getUTCFullYear() + 1, 4, 10, 0, 0) + ++slot * 30 * 60_000).toISOString();

describe('account mail through notification-service and Mailpit', () => {
  it('a self-registered account gets one confirmation mail; its link confirms it, and then it books', async () => {
    const email = uniqueEmail('signup');
    expect((await api('POST', '/api/auth/register', { name: 'Sign Up', email, password: PASSWORD })).status).toBe(202);
    const mail = await mailedLink(email, 'Confirm your email address');
    expect(mail.link).toMatch(/\/app\/#\/verify\?token=[\w-]{43}$/);
    expect(mail.text).toContain('Sign Up');

    const login = await signIn(email);
    expect(login.status).toBe(200);
    const own = bearer((login.body as { accessToken: string }).accessToken);
    const me = (await api('GET', '/api/auth/me', undefined, own)).body as { id: string; emailVerified: boolean };
    expect(me.emailVerified).toBe(false);
    const patient = await api('POST', '/api/patients', { name: 'Sign Up', email, dateOfBirth: '1990-01-01', gender: 'other' }, admin);
    expect(patient.status).toBe(201);
    const patientId = (patient.body as { id: string }).id;
    expect((await api('PATCH', `/api/auth/users/${me.id}`, { patientId }, admin)).status).toBe(200);

    expect((await api('POST', '/api/auth/verify-email', { token: mail.token })).status).toBe(204);
    const confirmed = bearer(((await signIn(email)).body as { accessToken: string }).accessToken);
    const booked = await api(
      'POST',
      '/api/appointments',
      { patientId, doctorId, start: nextSlot(), durationMinutes: 30, serviceType: 'consultation' },
      confirmed,
    );
    expect(booked.status).toBe(201);
    // Nothing came twice.
    expect((await server.messagesTo(email)).filter((m) => m.Subject.startsWith('Confirm'))).toHaveLength(1);
  }, 120_000);

  it('a forgotten password: the mailed link sets a new one once; the old password no longer works', async () => {
    const email = uniqueEmail('forgot');
    expect((await api('POST', '/api/auth/register', { name: 'For Got', email, password: PASSWORD })).status).toBe(202);
    expect((await api('POST', '/api/auth/password-reset', { email })).status).toBe(202);
    const mail = await mailedLink(email, 'Reset your');
    expect(mail.link).toMatch(/\/app\/#\/reset\?token=/);

    const confirm = (password: string) => api('POST', '/api/auth/password-reset/confirm', { token: mail.token, password });
    expect((await confirm('a brand new password')).status).toBe(204);
    expect((await signIn(email)).status).toBe(401);
    expect((await signIn(email, 'a brand new password')).status).toBe(200);
    expect((await confirm('yet another password')).status).toBe(410);
  }, 120_000);

  it('an account an admin creates without a password is invited by mail; its owner accepts and signs in', async () => {
    const email = uniqueEmail('invited');
    const created = await api('POST', '/api/auth/users', { name: 'Rita Reception', email, roles: ['receptionist'] }, admin);
    expect(created.status).toBe(201);
    const mail = await mailedLink(email, 'You are invited');
    expect(mail.link).toMatch(/\/app\/#\/invite\?token=/);
    expect(mail.text).toContain('Rita Reception');

    expect((await api('POST', '/api/auth/invitations/accept', { token: mail.token, password: 'rita sets her own password' })).status).toBe(
      204,
    );
    expect((await signIn(email, 'rita sets her own password')).status).toBe(200);
  }, 120_000);

  it('a request auth-service no longer has (used, replaced, expired or unknown) is skipped, never retried; a redelivered one sends nothing more', async () => {
    const email = uniqueEmail('again');
    const created = await api('POST', '/api/auth/users', { name: 'Ann Again', email, roles: ['receptionist'] }, admin);
    expect(created.status).toBe(201);
    const accountId = (created.body as { id: string }).id;
    await mailedLink(email, 'You are invited');
    const [{ request_id: requestId }] = (
      await ledger.query<{ request_id: string }>(`SELECT request_id FROM notices WHERE account_id = $1`, [accountId])
    ).rows as [{ request_id: string }];
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();

    expect(await deliverRequest({ requestId, accountId, purpose: 'invite', expiresAt })).toEqual({ status: 'SUCCESS' });
    const unknown = randomUUID();
    expect(await deliverRequest({ requestId: unknown, accountId, purpose: 'invite', expiresAt })).toEqual({ status: 'SUCCESS' });
    const skipped = await eventually(async () => {
      const [row] = await noticeOfRequest(unknown);
      return row?.status === 'skipped' ? row : undefined;
    });
    expect(skipped).toMatchObject({ kind: 'invite', attempts: 0, last_error: expect.stringContaining('expired') });
    expect(await noticeOfRequest(requestId)).toEqual([expect.objectContaining({ status: 'sent', attempts: 1 })]);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await server.messagesTo(email)).toHaveLength(1);
  }, 120_000);
});
