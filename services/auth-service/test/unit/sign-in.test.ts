import { decodeJwt } from 'jose';
import { signingKeysSecret } from '@caregrid/devkit';
import { ThrottledError, UnauthenticatedError } from '@caregrid/platform';
import type { Pool, PoolClient } from '@caregrid/platform/postgres';
import { hashPassword } from '../../src/domain/passwords.js';
import { admitAttempt, releaseReservation, type FailureCounter } from '../../src/domain/throttle.js';
import { parseSigningKeys } from '../../src/domain/tokens.js';
import type { User } from '../../src/domain/users.js';
import { accountUseCases, type AccountPorts, type KeyRing } from '../../src/use-cases.js';

/**
 * Sign-in through its ports: the stores are in-memory doubles (the throttle's counters kept by the
 * same domain rules the PostgreSQL store applies), the password hashes are real argon2id.
 */
const PASSWORD = 'correct horse battery staple';
const user: User = {
  id: '0190f0a0-0000-7000-8000-000000000001',
  name: 'Pat',
  email: 'Pat@Example.org',
  roles: ['patient'],
  patientId: '0190f0a0-0000-7000-8000-0000000000aa',
  doctorId: null,
  disabled: false,
  emailVerified: true,
  mustChangePassword: false,
  createdAt: '2026-01-01T00:00:00.000Z',
};

let passwordHash: string;
let keys: KeyRing;

beforeAll(async () => {
  passwordHash = await hashPassword(PASSWORD);
  const signing = await parseSigningKeys(await signingKeysSecret('test'));
  keys = { current: () => signing[0]!, all: () => signing };
});

/** Only what sign-in uses; anything else a use case asked of it would fail the test loudly. */
function port<T extends object>(implemented: Partial<T>): T {
  return new Proxy(implemented, {
    get: (target, name) => {
      if (name in target) return target[name as keyof T];
      throw new Error(`sign-in was not expected to use ${String(name)}`);
    },
  }) as T;
}

function setUp(account: Partial<User> = {}) {
  const stored = { ...user, ...account };
  let clock = new Date('2026-03-02T09:00:00.000Z');
  const counters = new Map<string, FailureCounter>();
  const issued: string[] = [];
  const knownDevices = new Set<string>();
  const ports: AccountPorts = {
    db: { pool: {} as Pool, transaction: (fn) => fn({} as PoolClient) },
    users: port<AccountPorts['users']>({
      findCredentials: async (email) => (email.toLowerCase() === stored.email.toLowerCase() ? { user: stored, passwordHash } : undefined),
    }),
    throttle: port<AccountPorts['throttle']>({
      admit: async (throttled, now) => {
        const admission = admitAttempt(
          throttled.map((k) => ({ ...k, counter: counters.get(k.key) })),
          now,
        );
        if (admission.admitted) for (const [key, counter] of admission.counters) counters.set(key, counter);
        return admission;
      },
      release: async (key, reserved) => {
        const counter = counters.get(key);
        if (counter) counters.set(key, releaseReservation(counter, reserved));
      },
      clear: async (key) => void counters.delete(key),
    }),
    devices: port<AccountPorts['devices']>({
      keyFor: async (token) => (knownDevices.has(token) ? `device:${token}` : undefined),
      issue: async () => {
        const token = `device-${knownDevices.size + 1}`;
        knownDevices.add(token);
        return token;
      },
      touch: async () => undefined,
    }),
    refreshTokens: port<AccountPorts['refreshTokens']>({
      issue: async (_client, userId) => {
        issued.push(userId);
        return `refresh-${issued.length}`;
      },
    }),
    mailRequests: port<AccountPorts['mailRequests']>({}),
    mail: port<AccountPorts['mail']>({}),
  };
  const accounts = accountUseCases({ ...ports, keys, now: () => clock });
  return {
    accounts,
    counters,
    issued,
    wait: (ms: number) => (clock = new Date(clock.getTime() + ms)),
    signIn: (password: string, from = '203.0.113.7', deviceToken?: string) =>
      accounts.signIn('pat@example.org', password, from, deviceToken),
  };
}

describe('sign-in', () => {
  it('with the right password: an access token for the account, a refresh token, a device token; the account’s failures forgotten', async () => {
    const { signIn, counters, issued } = setUp();
    await expect(signIn('wrong')).rejects.toBeInstanceOf(UnauthenticatedError);
    const signedIn = await signIn(PASSWORD);
    expect(signedIn).toMatchObject({ refreshToken: 'refresh-1', tokenType: 'Bearer', expiresIn: 900, deviceToken: 'device-1' });
    expect(decodeJwt(signedIn.accessToken)).toMatchObject({ sub: user.id, roles: ['patient'] });
    expect(issued).toEqual([user.id]);
    expect(counters.has('account:pat@example.org')).toBe(false);
    // The address keeps the one failure; the success's own reservation is given back.
    expect(counters.get('address:203.0.113.7')?.failures).toBe(1);
  });

  it('with a wrong password: 401, no tokens, the failure counted against the account and the address', async () => {
    const { signIn, counters, issued } = setUp();
    await expect(signIn('wrong')).rejects.toBeInstanceOf(UnauthenticatedError);
    expect(issued).toEqual([]);
    expect(counters.get('account:pat@example.org')?.failures).toBe(1);
    expect(counters.get('address:203.0.113.7')?.failures).toBe(1);
  });

  it('of a disabled account: 401 even with the right password, as for a wrong one', async () => {
    const { signIn, issued } = setUp({ disabled: true });
    await expect(signIn(PASSWORD)).rejects.toThrow(new UnauthenticatedError('Invalid email or password'));
    expect(issued).toEqual([]);
  });

  it('throttled after the free failures: even the right password waits (429 with Retry-After), then signs in', async () => {
    const { signIn, wait } = setUp();
    // Five free failures, and a sixth that is checked but sets a wait of a second.
    for (let attempt = 0; attempt < 6; attempt++) await expect(signIn('wrong')).rejects.toBeInstanceOf(UnauthenticatedError);
    const refused = await signIn(PASSWORD).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ThrottledError);
    expect((refused as ThrottledError).retryAfterSeconds).toBe(1);
    wait(1000);
    await expect(signIn(PASSWORD)).resolves.toMatchObject({ tokenType: 'Bearer' });
  });

  it('from a device that signed in before: counted on its own, so a guesser’s failures at the account do not delay it', async () => {
    const { signIn } = setUp();
    const { deviceToken } = await signIn(PASSWORD);
    for (let attempt = 0; attempt < 7; attempt++) await signIn('wrong', '198.51.100.9').catch(() => undefined);
    await expect(signIn('wrong', '198.51.100.9')).rejects.toBeInstanceOf(ThrottledError);
    await expect(signIn(PASSWORD, '203.0.113.7', deviceToken)).resolves.toMatchObject({ deviceToken });
  });
});
