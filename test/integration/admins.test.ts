/**
 * Nobody left to administer (issue 28): the real gateway and auth-service with their sidecars, on
 * PostgreSQL. The last active admin cannot be disabled or demoted, not even by two admins
 * disabling each other at the same moment; an account's roles cannot contradict its links; and an
 * operator with database access brings an admin back with the recovery command.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  jsonClient,
  readyAccount,
  recoverAdminInvocation,
  startTestStack,
  PASSWORD,
  bearer,
  uniqueEmail,
  type HttpResult,
  type TestStack,
} from '@caregrid/devkit';

const LAST_ADMIN = 'urn:caregrid:problem:last-admin';
const CONTRADICTION = 'urn:caregrid:problem:roles-contradict-links';

let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let db: pg.Pool;
let root: { id: string; email: string; password: string; auth: Record<string, string> };

async function signIn(email: string, password = PASSWORD): Promise<HttpResult> {
  return api('POST', '/api/auth/login', { email, password });
}

async function signedIn(email: string, password = PASSWORD): Promise<Record<string, string>> {
  const login = await signIn(email, password);
  expect(login.status).toBe(200);
  return bearer((login.body as { accessToken: string }).accessToken);
}

async function createUser(body: Record<string, unknown>): Promise<HttpResult> {
  return api('POST', '/api/auth/users', { name: 'Someone', email: uniqueEmail('user'), password: PASSWORD, ...body }, root.auth);
}

async function newAdmin(): Promise<{ id: string; auth: Record<string, string> }> {
  const admin = await readyAccount(api, root.auth, { name: 'Admin', email: uniqueEmail('admin'), password: PASSWORD, roles: ['admin'] });
  return { id: admin.id, auth: admin.auth };
}

async function activeAdmins(): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>("SELECT id FROM users WHERE 'admin' = ANY(roles) AND NOT disabled ORDER BY id");
  return rows.map((row) => row.id);
}

/** Runs `npm run admin:recover`'s command beside the stack's auth-service sidecar. */
function recoverAdmin(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = recoverAdminInvocation(stack.member('auth-service').app, args);
  return new Promise((resolve) => {
    execFile(run.command, run.args, { cwd: run.cwd, env: run.env, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const tokenIn = (output: string) => decodeURIComponent(/[?&]token=([^\s&]+)/.exec(output)?.[1] ?? '');

beforeAll(async () => {
  stack = await startTestStack({ apps: ['gateway', 'auth-service'], env: { gateway: { RATE_LIMIT_PER_MINUTE: '100000' } } });
  api = jsonClient(stack.url('gateway'));
  const secret = stack.secrets()['auth-service']!;
  db = new pg.Pool({ connectionString: secret.databaseUrl, max: 2 });
  const auth = await signedIn(secret.bootstrapAdminEmail!, secret.bootstrapAdminPassword);
  const me = (await api('GET', '/api/auth/me', undefined, auth)).body as { id: string };
  root = { id: me.id, email: secret.bootstrapAdminEmail!, password: secret.bootstrapAdminPassword!, auth };
}, 180_000);

afterAll(async () => {
  await db?.end();
  await stack?.stop();
});

describe('the last active admin', () => {
  it('cannot be disabled or demoted: 409 with type last-admin, and it still signs in', async () => {
    expect(await activeAdmins()).toEqual([root.id]);
    const disable = await api('PATCH', `/api/auth/users/${root.id}`, { disabled: true }, root.auth);
    expect(disable).toMatchObject({ status: 409, body: { type: LAST_ADMIN } });
    const demote = await api('PATCH', `/api/auth/users/${root.id}`, { roles: ['receptionist'] }, root.auth);
    expect(demote).toMatchObject({ status: 409, body: { type: LAST_ADMIN } });
    expect(await activeAdmins()).toEqual([root.id]);
    expect((await signIn(root.email, root.password)).status).toBe(200);
  });

  it('may be disabled once another admin is active', async () => {
    const other = await newAdmin();
    expect((await api('PATCH', `/api/auth/users/${root.id}`, { disabled: true }, other.auth)).status).toBe(200);
    expect((await api('PATCH', `/api/auth/users/${root.id}`, { disabled: false }, other.auth)).status).toBe(200);
    root.auth = await signedIn(root.email, root.password);
    expect((await api('PATCH', `/api/auth/users/${other.id}`, { disabled: true }, root.auth)).status).toBe(200);
    expect(await activeAdmins()).toEqual([root.id]);
  });

  it('survives two admins disabling each other at the same moment: one wins, the other gets 409', async () => {
    const a = await newAdmin();
    const b = await newAdmin();
    expect((await api('PATCH', `/api/auth/users/${root.id}`, { disabled: true }, a.auth)).status).toBe(200);
    expect((await activeAdmins()).sort()).toEqual([a.id, b.id].sort());

    // Both changes must be in flight together: a transaction of the test's holds both admins'
    // rows until the two requests wait on them in PostgreSQL, then lets them go at once.
    const holder = await db.connect();
    let answers: HttpResult[];
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM users WHERE id = ANY($1) FOR UPDATE', [[a.id, b.id]]);
      const racing = Promise.all([
        api('PATCH', `/api/auth/users/${b.id}`, { disabled: true }, a.auth),
        api('PATCH', `/api/auth/users/${a.id}`, { disabled: true }, b.auth),
      ]);
      const deadline = Date.now() + 15_000;
      for (;;) {
        const { rows } = await db.query<{ waiting: number }>(
          "SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        );
        if (rows[0]!.waiting >= 2 || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await holder.query('COMMIT');
      answers = await racing;
    } finally {
      holder.release();
    }
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409]);
    expect(answers.find((answer) => answer.status === 409)!.body).toMatchObject({ type: LAST_ADMIN });
    const survivors = await activeAdmins();
    expect(survivors).toHaveLength(1);
    expect([a.id, b.id]).toContain(survivors[0]);

    const survivor = survivors[0] === a.id ? a : b;
    expect((await api('PATCH', `/api/auth/users/${root.id}`, { disabled: false }, survivor.auth)).status).toBe(200);
    root.auth = await signedIn(root.email, root.password);
  });
});

describe('roles that contradict links', () => {
  it.each([
    ['the fuzzer’s doctor + patient + admin', { roles: ['doctor', 'patient', 'admin'] }, 'roles'],
    ['a patient who is also a receptionist, invited', { roles: ['patient', 'receptionist'], password: undefined }, 'roles'],
    ['a patient link without the patient role', { roles: ['receptionist'], patientId: randomUUID() }, 'patientId'],
    ['a doctor link without the doctor role', { roles: ['admin'], doctorId: randomUUID() }, 'doctorId'],
  ])('are refused at creation with 422: %s', async (_case, body, path) => {
    const email = uniqueEmail('contradiction');
    const answer = await createUser({ email, ...body });
    expect(answer).toMatchObject({ status: 422, body: { type: CONTRADICTION, issues: [expect.objectContaining({ path })] } });
    expect((await db.query('SELECT 1 FROM users WHERE email = $1', [email])).rowCount).toBe(0);
  });

  it('are refused in a change with 422, and nothing changes', async () => {
    const patientId = randomUUID();
    const { id, email } = await readyAccount(api, root.auth, {
      email: uniqueEmail('user'),
      password: PASSWORD,
      roles: ['patient'],
      patientId,
    });
    const answer = await api('PATCH', `/api/auth/users/${id}`, { roles: ['patient', 'admin'] }, root.auth);
    expect(answer).toMatchObject({ status: 422, body: { type: CONTRADICTION } });
    const patientTurnedDoctor = await api('PATCH', `/api/auth/users/${id}`, { roles: ['doctor'], doctorId: randomUUID() }, root.auth);
    expect(patientTurnedDoctor).toMatchObject({ status: 422, body: { type: CONTRADICTION } });
    expect((await api('GET', '/api/auth/me', undefined, await signedIn(email))).body).toMatchObject({
      roles: ['patient'],
      patientId,
      doctorId: null,
    });
  });

  it('allow staff roles together, and each link with its role', async () => {
    expect((await createUser({ roles: ['admin', 'receptionist'] })).status).toBe(201);
    expect((await createUser({ roles: ['doctor', 'admin'], doctorId: randomUUID() })).status).toBe(201);
    expect((await createUser({ roles: ['patient'], patientId: randomUUID() })).status).toBe(201);
    expect((await createUser({ roles: ['patient'] })).status).toBe(201);
  });

  it('an account that already holds a contradiction (from before the rule) can still be disabled', async () => {
    const created = await createUser({ roles: ['receptionist'] });
    const id = (created.body as { id: string }).id;
    await db.query("UPDATE users SET roles = '{doctor,patient,receptionist}' WHERE id = $1", [id]);
    expect((await api('PATCH', `/api/auth/users/${id}`, { disabled: true }, root.auth)).status).toBe(200);
  });
});

describe('the recovery command (npm run admin:recover)', () => {
  it('brings back the only admin after a fuzzer disabled it and gave it doctor, patient and admin', async () => {
    // What the fuzzer left: every admin disabled, the bootstrap one with contradicting roles and a patient link.
    await db.query("UPDATE users SET disabled = true WHERE 'admin' = ANY(roles)");
    await db.query("UPDATE users SET roles = '{doctor,patient,admin}', patient_id = $2 WHERE id = $1", [root.id, randomUUID()]);
    expect(await activeAdmins()).toEqual([]);
    expect((await signIn(root.email, root.password)).status).toBe(401);

    const run = await recoverAdmin(['--email', root.email]);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toContain(`recovered admin account ${root.email}`);
    expect(await activeAdmins()).toEqual([root.id]);
    // The old password no longer works: only the printed link sets one.
    expect((await signIn(root.email, root.password)).status).toBe(401);
    const newPassword = 'a fresh admin password';
    const confirm = await api('POST', '/api/auth/password-reset/confirm', { token: tokenIn(run.stdout), password: newPassword });
    expect(confirm.status).toBe(204);

    const auth = await signedIn(root.email, newPassword);
    expect((await api('GET', '/api/auth/me', undefined, auth)).body).toMatchObject({
      id: root.id,
      roles: ['doctor', 'admin'],
      patientId: null,
      doctorId: null,
      disabled: false,
    });
    expect(
      (
        await api(
          'POST',
          '/api/auth/users',
          { name: 'Back', email: uniqueEmail('back'), password: PASSWORD, roles: ['receptionist'] },
          auth,
        )
      ).status,
    ).toBe(201);
  });

  it('creates an admin for an address without an account', async () => {
    const email = uniqueEmail('operator');
    const run = await recoverAdmin(['--email', email, '--name', 'Night Operator']);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toContain(`created admin account ${email}`);
    expect((await signIn(email, 'any password at all')).status).toBe(401);
    const password = 'the operator sets this';
    expect((await api('POST', '/api/auth/password-reset/confirm', { token: tokenIn(run.stdout), password })).status).toBe(204);
    expect((await api('GET', '/api/auth/me', undefined, await signedIn(email, password))).body).toMatchObject({
      name: 'Night Operator',
      roles: ['admin'],
      emailVerified: true,
    });
  });

  it("leads to a password the owner chose: an admin-created account's handed-over password no longer matters", async () => {
    const email = uniqueEmail('handed');
    expect((await createUser({ email, roles: ['admin'] })).status).toBe(201);
    expect((await signIn(email)).body).toMatchObject({ status: 403, type: 'urn:caregrid:problem:password-change-required' });
    const run = await recoverAdmin(['--email', email]);
    expect(run).toMatchObject({ code: 0 });
    expect((await signIn(email)).status).toBe(401);
    const password = 'the owner chose this one';
    expect((await api('POST', '/api/auth/password-reset/confirm', { token: tokenIn(run.stdout), password })).status).toBe(204);
    // Set by the link its owner followed: no further change asked.
    expect((await api('GET', '/api/auth/me', undefined, await signedIn(email, password))).body).toMatchObject({
      mustChangePassword: false,
    });
  });

  it('says how to use it when the email is missing', async () => {
    const run = await recoverAdmin([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('usage: recover-admin --email');
  });
});
