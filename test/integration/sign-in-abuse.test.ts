/**
 * Sign-in abuse through the real gateway and auth-service, each with its
 * daprd, on PostgreSQL: failures delay further attempts (seconds, never a
 * lockout), the delay holds under parallel attempts, and the per-address
 * delay keys on the real client — the one a trusted proxy vouches for, or the
 * socket peer when the gateway is published directly. Sign-ups are throttled
 * per address. One stack per way the gateway is deployed; address counters
 * never leak between them.
 */
import { jsonClient, startTestStack, PASSWORD, type TestStack } from '@caregrid/devkit';

const uniqueEmail = (label: string) => `${label}.${Date.now()}.${Math.random().toString(36).slice(2, 6)}@example.org`;
const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

// The rates docs/authentication.md and docs/trust-model.md state: the first 5 failures
// of a key cost nothing, then each makes the next attempt wait 1, 2, 4 … s, at most 5 s for an
// address and 30 s for an account; 5 sign-ups per address at once, then one a minute.
const FREE_FAILURES = 5;
const ADDRESS_CAP_SECONDS = 5;
const ACCOUNT_CAP_SECONDS = 30;
const REGISTRATION_BURST = 5;

/** The most failures a key can have checked within `seconds`, each next attempt sent the moment its wait ends. */
function mostChecked(seconds: number, capSeconds: number): number {
  let attempts = 0;
  for (let at = 0; at <= seconds;) {
    attempts += 1;
    if (attempts > FREE_FAILURES) at += Math.min(capSeconds, 2 ** (attempts - FREE_FAILURES - 1));
  }
  return attempts;
}

type Api = ReturnType<typeof jsonClient>;
type Reply = Awaited<ReturnType<Api>>;
const retryAfter = (reply: Reply) => Number(reply.headers.get('retry-after'));

/**
 * Signs in (with the right password) as a patient sitting behind a delayed address does: on 429
 * it waits Retry-After and tries again. Answers the final reply and the seconds it waited.
 */
async function signInPatiently(api: Api, body: Record<string, string>, headers: Record<string, string>) {
  let waited = 0;
  for (;;) {
    const reply = await api('POST', '/api/auth/login', body, headers);
    if (reply.status !== 429 || waited > 60) return { reply, waited };
    waited += retryAfter(reply);
    await sleep(retryAfter(reply));
  }
}

/** Fails (unknown emails, or wrong passwords for `email`) as fast as allowed until the wait is at least `seconds`. */
async function failUntilDelayed(api: Api, seconds: number, headers: () => Record<string, string>, email?: string) {
  for (let i = 0; i < 40; i++) {
    const reply = await api(
      'POST',
      '/api/auth/login',
      { email: email ?? uniqueEmail('nobody'), password: `wrong ${i} password` },
      headers(),
    );
    if (reply.status === 429 && retryAfter(reply) >= seconds) return reply;
    if (reply.status === 429) await sleep(retryAfter(reply));
    else expect(reply.status).toBe(401);
  }
  throw new Error(`no wait of ${seconds} s came`);
}

async function registered(api: Api, label: string, headers: Record<string, string> = {}): Promise<string> {
  const email = uniqueEmail(label);
  expect((await api('POST', '/api/auth/register', { name: label, email, password: PASSWORD }, headers)).status).toBe(202);
  return email;
}

describe('behind one trusted proxy (TRUSTED_HOPS=1)', () => {
  let stack: TestStack;
  let api: Api;
  const from = (address: string) => ({ 'x-forwarded-for': address });
  // Each account signs up from an address of its own: sign-ups per address are limited (tested below).
  let signUps = 0;
  const register = (label: string) => registered(api, label, from(`192.0.2.${++signUps}`));

  beforeAll(async () => {
    stack = await startTestStack({
      apps: ['gateway', 'auth-service'],
      env: { gateway: { TRUSTED_HOPS: '1', RATE_LIMIT_PER_MINUTE: '100000' } },
    });
    api = jsonClient(stack.url('gateway'));
  }, 180_000);

  afterAll(() => stack?.stop());

  it('40 parallel wrong passwords on one account: only as many checked (401) as the delays allow, all others 429', async () => {
    const email = await register('parallel');
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        api('POST', '/api/auth/login', { email, password: `wrong ${i} password` }, from('198.51.100.40')),
      ),
    );
    const seconds = (Date.now() - started) / 1000;
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(mostChecked(seconds, ADDRESS_CAP_SECONDS));
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThan(0);
    const refused = answers.find((a) => a.status === 429)!;
    expect(refused.body).toMatchObject({ type: 'urn:caregrid:problem:throttled', status: 429 });
    expect(retryAfter(refused)).toBeGreaterThan(0);
    // The account's own delay holds for the right password too, from any address — for seconds only.
    const owner = await signInPatiently(api, { email, password: PASSWORD }, from('198.51.100.41'));
    expect(owner.reply.status).toBe(200);
    expect(owner.waited).toBeLessThanOrEqual(ACCOUNT_CAP_SECONDS);
  });

  it('25 failed sign-ins for unknown emails from one address: a correct user on a new device behind it signs in within the cap', async () => {
    const email = await register('behind-nat');
    const nat = from('203.0.113.30');
    for (let i = 0; i < 25; i++) {
      const reply = await api('POST', '/api/auth/login', { email: uniqueEmail('nobody'), password: 'whatever123' }, nat);
      expect([401, 429]).toContain(reply.status);
      if (reply.status === 429) expect(reply.body).toMatchObject({ retryAfterSeconds: retryAfter(reply) });
    }
    const first = await api('POST', '/api/auth/login', { email, password: PASSWORD }, nat);
    if (first.status === 429) {
      expect(first.body).toMatchObject({ type: 'urn:caregrid:problem:throttled', retryAfterSeconds: retryAfter(first) });
      expect(retryAfter(first)).toBeLessThanOrEqual(ADDRESS_CAP_SECONDS);
    }
    const { reply, waited } = await signInPatiently(api, { email, password: PASSWORD }, nat);
    expect(reply.status).toBe(200);
    expect(waited).toBeLessThanOrEqual(ADDRESS_CAP_SECONDS);
  });

  it(`a spray of many accounts from one address gets at most ${FREE_FAILURES} attempts, then one per ${ADDRESS_CAP_SECONDS} s; the user behind it still gets in`, async () => {
    const email = await register('sprayed-nat');
    const nat = from('203.0.113.40');
    // The fastest sprayer: a new account each time, the next attempt the moment its wait ends.
    const started = Date.now();
    let checked = 0;
    const waits: number[] = [];
    while (Date.now() - started < 20_000) {
      const reply = await api('POST', '/api/auth/login', { email: uniqueEmail('sprayed'), password: 'spring2026!' }, nat);
      expect([401, 429]).toContain(reply.status);
      if (reply.status === 401) checked += 1;
      else {
        waits.push(retryAfter(reply));
        await sleep(Math.min(retryAfter(reply), 1));
      }
    }
    const seconds = (Date.now() - started) / 1000;
    expect(checked).toBeLessThanOrEqual(mostChecked(seconds, ADDRESS_CAP_SECONDS));
    // Delayed, not locked out: it kept getting attempts, and no wait was longer than the cap.
    expect(checked).toBeGreaterThan(FREE_FAILURES + 1);
    expect(Math.max(...waits)).toBeLessThanOrEqual(ADDRESS_CAP_SECONDS);
    const { reply, waited } = await signInPatiently(api, { email, password: PASSWORD }, nat);
    expect(reply.status).toBe(200);
    expect(waited).toBeLessThanOrEqual(ADDRESS_CAP_SECONDS);
  }, 60_000);

  it("one client's failures delay that client only, not the others behind the same proxy", async () => {
    const email = await register('neighbour');
    const delayed = await failUntilDelayed(api, 4, () => from('203.0.113.7'));
    expect(delayed.body).toMatchObject({ type: 'urn:caregrid:problem:throttled', status: 429 });
    // The delayed client waits even with the right password; its neighbour signs in.
    expect((await api('POST', '/api/auth/login', { email, password: PASSWORD }, from('203.0.113.7'))).status).toBe(429);
    expect((await api('POST', '/api/auth/login', { email, password: PASSWORD }, from('203.0.113.8'))).status).toBe(200);
    // A hop the client prepends itself is left of the address the proxy saw: still delayed.
    expect((await api('POST', '/api/auth/login', { email, password: PASSWORD }, from('203.0.113.9, 203.0.113.7'))).status).toBe(429);
  });

  it('a client that signed in before keeps its way in: behind a delayed NAT, and while a guesser delays its account', async () => {
    const nat = from('203.0.113.50');
    const email = await register('regular');
    const other = await register('colleague');
    const first = await api('POST', '/api/auth/login', { email, password: PASSWORD }, nat);
    expect(first.status).toBe(200);
    const { deviceToken } = first.body as { deviceToken: string };
    expect(deviceToken).toEqual(expect.any(String));
    // Someone else behind the clinic's NAT keeps failing: the address is delayed...
    await failUntilDelayed(api, 4, () => nat);
    expect((await api('POST', '/api/auth/login', { email, password: PASSWORD }, nat)).status).toBe(429);
    // ...but not for the client that signed in here before; its token does not open another account.
    const again = await api('POST', '/api/auth/login', { email, password: PASSWORD, deviceToken }, nat);
    expect(again).toMatchObject({ status: 200, body: { deviceToken } });
    expect((await api('POST', '/api/auth/login', { email: other, password: PASSWORD, deviceToken }, nat)).status).toBe(429);
    // A guesser elsewhere delays the account: unknown clients wait, the known one does not...
    let guesses = 0;
    await failUntilDelayed(api, 4, () => from(`203.0.113.${60 + guesses++}`), email);
    expect((await api('POST', '/api/auth/login', { email, password: PASSWORD }, from('203.0.113.99'))).status).toBe(429);
    expect((await api('POST', '/api/auth/login', { email, password: PASSWORD, deviceToken }, nat)).status).toBe(200);
    // ...and an unknown client of the owner's waits seconds, not a lockout.
    const owner = await signInPatiently(api, { email, password: PASSWORD }, from('203.0.113.99'));
    expect(owner.reply.status).toBe(200);
    expect(owner.waited).toBeLessThanOrEqual(ACCOUNT_CAP_SECONDS);
  });

  it('a device token is throttled on its own: wrong passwords with it make that token wait', async () => {
    const email = await register('stolen-device');
    const { deviceToken } = (await api('POST', '/api/auth/login', { email, password: PASSWORD }, from('203.0.113.70'))).body as {
      deviceToken: string;
    };
    for (let i = 0; i <= FREE_FAILURES; i++) {
      expect(
        (await api('POST', '/api/auth/login', { email, password: `wrong ${i} password`, deviceToken }, from('203.0.113.71'))).status,
      ).toBe(401);
    }
    expect((await api('POST', '/api/auth/login', { email, password: PASSWORD, deviceToken }, from('203.0.113.71'))).status).toBe(429);
  });

  it('a successful sign-in gives its reservation back: successes never add up to a delay', async () => {
    const email = await register('frequent');
    for (let i = 0; i < 25; i++) {
      expect((await api('POST', '/api/auth/login', { email, password: PASSWORD }, from('203.0.113.20'))).status).toBe(200);
    }
  });

  it(`sign-ups from one address: ${REGISTRATION_BURST} at once, then 429 with retryAfterSeconds; other addresses are not held up`, async () => {
    const address = from('198.51.100.80');
    for (let i = 0; i < REGISTRATION_BURST; i++) await registered(api, 'burst', address);
    const refusedEmail = uniqueEmail('burst');
    const refused = await api('POST', '/api/auth/register', { name: 'one more', email: refusedEmail, password: PASSWORD }, address);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ type: 'urn:caregrid:problem:throttled', status: 429, retryAfterSeconds: retryAfter(refused) });
    expect(retryAfter(refused)).toBeGreaterThan(0);
    expect(retryAfter(refused)).toBeLessThanOrEqual(60);
    // The refused sign-up created nothing: its email cannot sign in. Another address signs up.
    expect((await api('POST', '/api/auth/login', { email: refusedEmail, password: PASSWORD }, from('198.51.100.82'))).status).toBe(401);
    await registered(api, 'elsewhere', from('198.51.100.81'));
  });
});

describe('published directly (no trusted proxy, the default)', () => {
  let stack: TestStack;
  let api: Api;

  beforeAll(async () => {
    stack = await startTestStack({ apps: ['gateway', 'auth-service'], env: { gateway: { RATE_LIMIT_PER_MINUTE: '100000' } } });
    api = jsonClient(stack.url('gateway'));
  }, 180_000);

  afterAll(() => stack?.stop());

  it("a client's X-Forwarded-For is ignored: a new value on each attempt does not escape the address's delay", async () => {
    const email = await registered(api, 'direct');
    let attempt = 0;
    await failUntilDelayed(api, 4, () => ({ 'x-forwarded-for': `198.51.100.${++attempt}` }));
    const escape = await api('POST', '/api/auth/login', { email, password: PASSWORD }, { 'x-forwarded-for': '192.0.2.99' });
    expect(escape.status).toBe(429);
  });
});
