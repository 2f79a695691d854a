/**
 * auth-service restarts cleanly whatever became of the bootstrap admin: real
 * gateway and auth-service with their sidecars, on PostgreSQL; the app process
 * is stopped and started again as an orchestrator would.
 */
import pg from 'pg';
import { jsonClient, startTestStack, type TestStack } from '@caregrid/devkit';

let stack: TestStack;
let api: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  stack = await startTestStack({ apps: ['gateway', 'auth-service'] });
  api = jsonClient(stack.url('gateway'));
}, 180_000);

afterAll(() => stack?.stop());

it('starts again when the only admin, the bootstrap one, is disabled — and leaves it disabled', async () => {
  const secret = stack.secrets()['auth-service']!;
  const credentials = { email: secret.bootstrapAdminEmail, password: secret.bootstrapAdminPassword };
  const login = await api('POST', '/api/auth/login', credentials);
  expect(login.status).toBe(200);
  // The API refuses to disable the last admin (admins.test.ts); a database from before that rule may hold it so.
  const db = new pg.Pool({ connectionString: secret.databaseUrl, max: 1 });
  try {
    expect((await db.query('UPDATE users SET disabled = true WHERE lower(email) = lower($1)', [secret.bootstrapAdminEmail])).rowCount).toBe(
      1,
    );
  } finally {
    await db.end();
  }

  const authService = stack.member('auth-service');
  await authService.restartApp();
  expect(authService.status).toBe('healthy');
  // Not recreated, not re-enabled: the administrator's decision stands.
  expect((await api('POST', '/api/auth/login', credentials)).status).toBe(401);
  expect(
    (
      await api('POST', '/api/auth/register', {
        name: 'After',
        email: `after.${Date.now()}@example.org`,
        password: 'correct horse battery',
      })
    ).status,
  ).toBe(202);
});
