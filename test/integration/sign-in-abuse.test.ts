/**
 * Sign-in abuse through the real gateway and auth-service, each with its
 * daprd, on PostgreSQL: the throttle holds under parallel attempts, and the
 * per-address lock keys on the real client — the one a trusted proxy vouches
 * for, or the socket peer when the gateway is published directly.
 * One stack per way the gateway is deployed; address locks never leak between them.
 */
import { jsonClient, startTestStack, type TestStack } from '@caregrid/devkit';

const PASSWORD = 'correct horse battery';
const uniqueEmail = (label: string) => `${label}.${Date.now()}.${Math.random().toString(36).slice(2, 6)}@example.org`;

async function registered(api: ReturnType<typeof jsonClient>, label: string): Promise<string> {
  const email = uniqueEmail(label);
  expect((await api('POST', '/api/auth/register', { name: label, email, password: PASSWORD })).status).toBe(202);
  return email;
}

describe('behind one trusted proxy (TRUSTED_HOPS=1)', () => {
  let stack: TestStack;
  let api: ReturnType<typeof jsonClient>;
  const from = (address: string) => ({ 'x-forwarded-for': address });

  beforeAll(async () => {
    stack = await startTestStack({
      apps: ['gateway', 'auth-service'],
      env: { gateway: { TRUSTED_HOPS: '1', RATE_LIMIT_PER_MINUTE: '100000' } },
    });
    api = jsonClient(stack.url('gateway'));
  }, 180_000);

  afterAll(() => stack?.stop());

  it('40 parallel wrong passwords on one account: at most 5 are checked (401), all others 429', async () => {
    const email = await registered(api, 'parallel');
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        api('POST', '/api/auth/login', { email, password: `wrong ${i} password` }, from('198.51.100.40')),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThan(0);
    const refused = answers.find((a) => a.status === 429)!;
    expect(refused.body).toMatchObject({ type: 'urn:caregrid:problem:throttled', status: 429 });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // The account stays locked for the right password too, from any address.
    expect((await api('POST', '/api/auth/login', { email, password: PASSWORD }, from('198.51.100.41'))).status).toBe(429);
  });

  it("one client's failures lock that client only, not the others behind the same proxy", async () => {
    const email = await registered(api, 'neighbour');
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) {
      const reply = await api('POST', '/api/auth/login', { email: uniqueEmail('nobody'), password: 'whatever123' }, from('203.0.113.7'));
      statuses.push(reply.status);
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses[20]).toBe(429);
    // The locked client is refused even with the right password; its neighbour signs in.
    expect((await api('POST', '/api/auth/login', { email, password: PASSWORD }, from('203.0.113.7'))).status).toBe(429);
    expect((await api('POST', '/api/auth/login', { email, password: PASSWORD }, from('203.0.113.8'))).status).toBe(200);
    // A hop the client prepends itself is left of the address the proxy saw: still locked.
    expect((await api('POST', '/api/auth/login', { email, password: PASSWORD }, from('203.0.113.9, 203.0.113.7'))).status).toBe(429);
  });

  it('a client that signed in before keeps its way in: behind a locked NAT, and when a guesser locked its account', async () => {
    const nat = from('203.0.113.50');
    const email = await registered(api, 'regular');
    const other = await registered(api, 'colleague');
    const first = await api('POST', '/api/auth/login', { email, password: PASSWORD }, nat);
    expect(first.status).toBe(200);
    const { deviceToken } = first.body as { deviceToken: string };
    expect(deviceToken).toEqual(expect.any(String));
    // Someone else behind the clinic's NAT fails 20 times: the address is locked...
    for (let i = 0; i < 20; i++) {
      await api('POST', '/api/auth/login', { email: uniqueEmail('nobody'), password: 'whatever123' }, nat);
    }
    expect((await api('POST', '/api/auth/login', { email, password: PASSWORD }, nat)).status).toBe(429);
    // ...but not for the client that signed in here before; its token does not open another account.
    const again = await api('POST', '/api/auth/login', { email, password: PASSWORD, deviceToken }, nat);
    expect(again).toMatchObject({ status: 200, body: { deviceToken } });
    expect((await api('POST', '/api/auth/login', { email: other, password: PASSWORD, deviceToken }, nat)).status).toBe(429);
    // A guesser elsewhere locks the account: unknown clients are refused, the known one is not.
    for (let i = 0; i < 5; i++) {
      await api('POST', '/api/auth/login', { email, password: `guess ${i} password` }, from('203.0.113.60'));
    }
    expect((await api('POST', '/api/auth/login', { email, password: PASSWORD }, from('203.0.113.61'))).status).toBe(429);
    expect((await api('POST', '/api/auth/login', { email, password: PASSWORD, deviceToken }, nat)).status).toBe(200);
  });

  it('a device token is throttled on its own: 5 wrong passwords with it lock that token', async () => {
    const email = await registered(api, 'stolen-device');
    const { deviceToken } = (await api('POST', '/api/auth/login', { email, password: PASSWORD }, from('203.0.113.70'))).body as {
      deviceToken: string;
    };
    for (let i = 0; i < 5; i++) {
      expect(
        (await api('POST', '/api/auth/login', { email, password: `wrong ${i} password`, deviceToken }, from('203.0.113.71'))).status,
      ).toBe(401);
    }
    expect((await api('POST', '/api/auth/login', { email, password: PASSWORD, deviceToken }, from('203.0.113.71'))).status).toBe(429);
  });

  it('a successful sign-in gives its reservation back: successes never add up to an address lock', async () => {
    const email = await registered(api, 'frequent');
    for (let i = 0; i < 25; i++) {
      expect((await api('POST', '/api/auth/login', { email, password: PASSWORD }, from('203.0.113.20'))).status).toBe(200);
    }
  });
});

describe('published directly (no trusted proxy, the default)', () => {
  let stack: TestStack;
  let api: ReturnType<typeof jsonClient>;

  beforeAll(async () => {
    stack = await startTestStack({ apps: ['gateway', 'auth-service'], env: { gateway: { RATE_LIMIT_PER_MINUTE: '100000' } } });
    api = jsonClient(stack.url('gateway'));
  }, 180_000);

  afterAll(() => stack?.stop());

  it("a client's X-Forwarded-For is ignored: a new value on each attempt does not escape the address lock", async () => {
    const email = await registered(api, 'direct');
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) {
      const reply = await api(
        'POST',
        '/api/auth/login',
        { email: uniqueEmail('nobody'), password: 'whatever123' },
        { 'x-forwarded-for': `198.51.100.${i + 1}` },
      );
      statuses.push(reply.status);
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses[20]).toBe(429);
    const escape = await api('POST', '/api/auth/login', { email, password: PASSWORD }, { 'x-forwarded-for': '192.0.2.99' });
    expect(escape.status).toBe(429);
  });
});
