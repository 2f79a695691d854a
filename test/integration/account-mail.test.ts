/**
 * Account mail, auth-service's side, every process real (gateway and its JWT policy,
 * auth-service, patient-, doctor- and appointment-service, each with its daprd; PostgreSQL;
 * the tests' Kafka): a request is an event on `accounts` with ids only; the mailer (a sidecar
 * with notification-service's app-id) fetches the recipient and a freshly minted link; the
 * link's token works once, until it expires or a newer one replaces it. An unconfirmed
 * self-registered account may not book until it follows its link.
 */
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import pg from 'pg';
import { accountMailLink, accountMailRequested, Topics, type AccountMailLink } from '@caregrid/contracts';
import {
  doctorProfile,
  eventually,
  freePort,
  freeSidecarPorts,
  jsonClient,
  readTopic,
  renderResources,
  startSidecar,
  startTestStack,
  PASSWORD,
  bearer,
  uniqueEmail,
  type RunningSidecar,
  type TestStack,
} from '@caregrid/devkit';

let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let admin: Record<string, string>;
let db: pg.Pool;
let mailer: RunningSidecar;
let mailerApp: Server;
let doctorId: string;

type MailEvent = {
  id: string;
  type: string;
  time: string;
  data: { requestId: string; accountId: string; purpose: string; expiresAt: string };
};

/** The mail-requested events on `accounts` for an account (and purpose), as the broker holds them. */
function mailEvents(accountId?: string, purpose?: string): { raw: string; event: MailEvent }[] {
  return readTopic(Topics.accounts)
    .filter((m): m is MailEvent => (m as MailEvent)?.type === accountMailRequested.type)
    .map((event) => ({ raw: JSON.stringify(event), event }))
    .filter(({ event }) => (!accountId || event.data.accountId === accountId) && (!purpose || event.data.purpose === purpose));
}

/** The newest request of that purpose for the account, once its event is on the topic. */
const requested = (accountId: string, purpose: string) => eventually(() => mailEvents(accountId, purpose).at(-1)?.event.data, 30_000);

/** The mailer's call, through its own sidecar (ACL, mTLS identity): status and body. */
async function fetchLink(requestId: string): Promise<{ status: number; body: unknown }> {
  const url = `http://127.0.0.1:${mailer.httpPort}/v1.0/invoke/auth-service/method/accounts/mail-requests/${requestId}/link`;
  return eventually(async () => {
    const response = await fetch(url, { method: 'POST' });
    const text = await response.text();
    // The first call may race the callee's name-resolution registration.
    if (/no host|ERR_DIRECT_INVOKE.*(resolv|host)/i.test(text)) return undefined;
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  });
}

async function link(requestId: string): Promise<AccountMailLink & { token: string }> {
  const answer = await fetchLink(requestId);
  expect(answer.status).toBe(200);
  const parsed = accountMailLink.parse(answer.body);
  return { ...parsed, token: new URL(parsed.link.replace('/#/', '/')).searchParams.get('token')! };
}

async function signIn(email: string, password = PASSWORD) {
  return api('POST', '/api/auth/login', { email, password });
}

async function register(label: string) {
  const email = uniqueEmail(label);
  expect((await api('POST', '/api/auth/register', { name: `${label} Doe`, email, password: PASSWORD })).status).toBe(202);
  const login = await signIn(email);
  expect(login.status).toBe(200);
  const tokens = login.body as { accessToken: string; refreshToken: string };
  const me = (await api('GET', '/api/auth/me', undefined, bearer(tokens.accessToken))).body as { id: string; emailVerified: boolean };
  return { email, id: me.id, me, tokens };
}

// Distinct future slots on the doctor's 30-minute grid (UTC, open all day).
let slot = 0;
const nextSlot = () => new Date(Date.UTC(new Date().getUTCFullYear() + 1, 2, 10, 0, 0) + ++slot * 30 * 60_000).toISOString();
const booking = (patientId: string) => ({ patientId, doctorId, start: nextSlot(), durationMinutes: 30, serviceType: 'consultation' });

beforeAll(async () => {
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service', 'doctor-service', 'appointment-service'],
    env: { gateway: { RATE_LIMIT_PER_MINUTE: '100000' } },
  });
  api = jsonClient(stack.url('gateway'));
  const secret = stack.secrets()['auth-service']!;
  const login = await signIn(secret.bootstrapAdminEmail!, secret.bootstrapAdminPassword);
  admin = bearer((login.body as { accessToken: string }).accessToken);
  db = new pg.Pool({ connectionString: secret.databaseUrl, max: 1 });

  const everyDay = Object.fromEntries(
    ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [{ start: '00:00', end: '23:30' }]]),
  );
  const doctor = await api('POST', '/api/doctors', doctorProfile({ workingHours: everyDay }), admin);
  expect(doctor.status).toBe(201);
  doctorId = (doctor.body as { id: string }).id;

  // notification-service as far as auth-service can tell: a sidecar with its app-id, in the stack's registry and
  // trust domain; none of its components (its mail binding is not this test's).
  const resources = renderResources({ components: [], scopes: [] });
  const appPort = await freePort();
  mailerApp = createServer((_req, res) => res.end('{}')).listen(appPort, '127.0.0.1');
  mailer = startSidecar({
    appId: 'notification-service',
    appPort,
    ...(await freeSidecarPorts()),
    resourcesPaths: [resources.dir],
    configFile: path.join(path.dirname(stack.resourcesDir), 'config', 'caregrid.yaml'),
    env: { CAREGRID_SECRETS_FILE: resources.secretsFile },
    logFile: path.join(stack.logDir, 'notification-service-daprd.log'),
  });
  await mailer.waitReady();
}, 240_000);

afterAll(async () => {
  await mailer?.stop();
  mailerApp?.close();
  await db?.end();
  await stack?.stop();
});

describe('confirming a self-registered account', () => {
  it('unconfirmed it may not book (403 email-not-verified); the event carries ids only; the link confirms it once; then it books', async () => {
    const user = await register('verify');
    expect(user.me.emailVerified).toBe(false);
    // A patient record linked to the account, as reception would do.
    const patient = await api(
      'POST',
      '/api/patients',
      { name: 'Verify Doe', email: user.email, dateOfBirth: '1990-01-01', gender: 'other', details: {} },
      admin,
    );
    expect(patient.status).toBe(201);
    const patientId = (patient.body as { id: string }).id;
    expect((await api('PATCH', `/api/auth/users/${user.id}`, { patientId }, admin)).status).toBe(200);
    let own = bearer(((await signIn(user.email)).body as { accessToken: string }).accessToken);

    const refused = await api('POST', '/api/appointments', booking(patientId), own);
    expect(refused).toMatchObject({ status: 403, body: { type: 'urn:caregrid:problem:email-not-verified', status: 403 } });
    const fhirRefused = await api(
      'POST',
      '/api/fhir/Appointment',
      {
        resourceType: 'Appointment',
        status: 'booked',
        start: nextSlot(),
        minutesDuration: 30,
        serviceType: [{ coding: [{ code: 'consultation' }] }],
        participant: [
          { actor: { reference: `Patient/${patientId}` }, status: 'accepted' },
          { actor: { reference: `Practitioner/${doctorId}` }, status: 'accepted' },
        ],
      },
      own,
    );
    expect(fhirRefused.status).toBe(403);

    // On `accounts`: who and why, never the address or a token (there is none yet: the link mints it).
    const request = await requested(user.id, 'verify-email');
    const { raw, event } = mailEvents(user.id, 'verify-email')[0]!;
    expect(Object.keys(event.data).sort()).toEqual(['accountId', 'expiresAt', 'purpose', 'requestId']);
    expect(raw).not.toContain(user.email);
    expect(raw).not.toContain('Verify Doe');

    const mail = await link(request.requestId);
    expect(mail).toMatchObject({ to: user.email, displayName: 'verify Doe', purpose: 'verify-email', expiresAt: request.expiresAt });
    expect(mail.link).toMatch(/^http:\/\/127\.0\.0\.1:4004\/app\/#\/verify\?token=[\w-]{43}$/);
    // Not a route of the gateway: no client reaches it.
    expect((await api('POST', `/api/accounts/mail-requests/${request.requestId}/link`, {}, own)).status).toBe(404);

    expect((await api('POST', '/api/auth/verify-email', { token: mail.token })).status).toBe(204);
    const again = await api('POST', '/api/auth/verify-email', { token: mail.token });
    expect(again).toMatchObject({ status: 410, body: { type: 'urn:caregrid:problem:gone' } });
    // A used request mails nothing more.
    expect((await fetchLink(request.requestId)).status).toBe(410);

    // The next access token says confirmed: the booking goes through.
    own = bearer(((await signIn(user.email)).body as { accessToken: string }).accessToken);
    expect((await api('GET', '/api/auth/me', undefined, own)).body).toMatchObject({ emailVerified: true });
    expect((await api('POST', '/api/appointments', booking(patientId), own)).status).toBe(201);
    expect((await api('POST', '/api/auth/verify-email/resend', undefined, own)).status).toBe(409);
  });

  it('refuses a token that was never minted (410, as any that does not work) and a malformed one (400)', async () => {
    expect((await api('POST', '/api/auth/verify-email', { token: 'x'.repeat(43) })).status).toBe(410);
    expect((await api('POST', '/api/auth/verify-email', { token: '' })).status).toBe(400);
  });
});

describe('a forgotten password', () => {
  it('an unknown address is answered alike and mails nothing; a known one: only the newest link sets the password, once, and ends the sessions', async () => {
    // The tests' broker keeps the resets that earlier test files asked for: this test's are the newer.
    const since = Date.now() - 1_000;
    const unknown = await api('POST', '/api/auth/password-reset', { email: uniqueEmail('nobody') });
    const user = await register('reset');
    const known = await api('POST', '/api/auth/password-reset', { email: user.email });
    expect(unknown).toMatchObject({ status: 202 });
    expect(known).toEqual({ ...unknown, headers: known.headers });

    const request = await requested(user.id, 'reset-password');
    // Everything published for resets is for accounts that exist: the unknown address got no request.
    const resetsSince = mailEvents(undefined, 'reset-password').filter(({ event }) => Date.parse(event.time) >= since);
    expect(resetsSince.map(({ event }) => event.data.accountId)).toEqual([user.id]);

    const older = await link(request.requestId);
    const newer = await link(request.requestId);
    expect(newer.token).not.toBe(older.token);
    expect(newer.link).toMatch(/\/app\/#\/reset\?token=/);
    const confirm = (token: string, password: string) => api('POST', '/api/auth/password-reset/confirm', { token, password });
    expect((await confirm(older.token, 'a brand new password')).status).toBe(410);
    expect((await confirm(newer.token, 'short')).status).toBe(400);
    expect((await confirm(newer.token, 'a brand new password')).status).toBe(204);

    expect((await signIn(user.email)).status).toBe(401);
    expect((await signIn(user.email, 'a brand new password')).status).toBe(200);
    expect((await api('POST', '/api/auth/refresh', { refreshToken: user.tokens.refreshToken })).status).toBe(401);
    expect((await confirm(newer.token, 'yet another password')).status).toBe(410);
    expect((await signIn(user.email, 'yet another password')).status).toBe(401);
  });
});

describe('an account an admin creates without a password', () => {
  it('is invited: it cannot sign in until its owner accepts with a password by the mailed link', async () => {
    const email = uniqueEmail('invited');
    const created = await api('POST', '/api/auth/users', { name: 'Rita Reception', email, roles: ['receptionist'] }, admin);
    expect(created).toMatchObject({ status: 201, body: { email, emailVerified: false } });
    const id = (created.body as { id: string }).id;
    expect((await signIn(email, 'anything at all')).status).toBe(401);

    const request = await requested(id, 'invite');
    const mail = await link(request.requestId);
    expect(mail).toMatchObject({ to: email, displayName: 'Rita Reception', purpose: 'invite' });
    expect(mail.link).toMatch(/\/app\/#\/invite\?token=/);
    const accept = (password: string) => api('POST', '/api/auth/invitations/accept', { token: mail.token, password });
    // A reset or confirmation does not take an invitation's token.
    expect((await api('POST', '/api/auth/verify-email', { token: mail.token })).status).toBe(410);
    expect((await accept('rita sets her own password')).status).toBe(204);
    const login = await signIn(email, 'rita sets her own password');
    expect(login.status).toBe(200);
    const me = await api('GET', '/api/auth/me', undefined, bearer((login.body as { accessToken: string }).accessToken));
    expect(me.body).toMatchObject({ id, roles: ['receptionist'], emailVerified: true });
    expect((await accept('someone else takes over')).status).toBe(410);
  });

  it('with a password: confirmed, no invitation; its owner replaces the password before signing in', async () => {
    const email = uniqueEmail('handed');
    const created = await api('POST', '/api/auth/users', { name: 'Doc', email, password: PASSWORD, roles: ['doctor'] }, admin);
    expect(created).toMatchObject({ status: 201, body: { emailVerified: true, mustChangePassword: true } });
    expect((await signIn(email)).status).toBe(403);
    expect(mailEvents((created.body as { id: string }).id)).toEqual([]);
  });
});

describe('an expired link', () => {
  it('is gone (410), for the mailer and for its owner', async () => {
    const user = await register('expiry');
    const request = await requested(user.id, 'verify-email');
    const mail = await link(request.requestId);
    await db.query(`UPDATE account_mail_requests SET expires_at = now() - interval '1 second' WHERE id = $1`, [request.requestId]);
    expect((await api('POST', '/api/auth/verify-email', { token: mail.token })).status).toBe(410);
    expect((await fetchLink(request.requestId)).status).toBe(410);
    expect((await api('GET', '/api/auth/me', undefined, bearer(user.tokens.accessToken))).body).toMatchObject({ emailVerified: false });
  });
});
