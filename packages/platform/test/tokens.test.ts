/**
 * The services' own check of the bearer token the gateway forwards: only an
 * ES256 token of a key in auth-service's set, for our issuer and audience and
 * not expired, is a user; the set is fetched once, again for a key it lacks
 * (a rotation), and its loss is a 503, not an anonymous caller.
 */
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '@caregrid/contracts';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet } from 'jose';
import { bearerToken, TokenVerifier } from '../src/access/tokens.js';
import { DependencyUnavailableError } from '../src/errors.js';

type Key = { kid: string; privateKey: CryptoKey; publicJwk: Record<string, unknown> };

async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

const NOW = Date.UTC(2026, 11, 7, 18, 0, 0);

function token(key: Key, claims: Record<string, unknown> = {}, options: { issuer?: string; audience?: string; expiresAt?: number } = {}) {
  return new SignJWT({ roles: ['doctor'], doctorId: 'd1', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setIssuer(options.issuer ?? TOKEN_ISSUER)
    .setAudience(options.audience ?? TOKEN_AUDIENCE)
    .setSubject('u1')
    .setIssuedAt(Math.floor(NOW / 1000) - 60)
    .setExpirationTime(options.expiresAt ?? Math.floor(NOW / 1000) + 900)
    .sign(key.privateKey);
}

/** A key set source that serves `sets` in turn (the last one from then on) and counts its fetches. */
function source(...sets: Key[][]) {
  const served = { fetches: 0 };
  const fetch = async (): Promise<JSONWebKeySet> => {
    const keys = sets[Math.min(served.fetches, sets.length - 1)]!;
    served.fetches++;
    return { keys: keys.map((key) => key.publicJwk) } as JSONWebKeySet;
  };
  return { fetch, served };
}

let current: Key;
let previous: Key;
let stranger: Key;
beforeAll(async () => {
  [current, previous, stranger] = await Promise.all([newKey('k2'), newKey('k1'), newKey('k1')]);
});

/** A clock the test moves. */
const clock = () => {
  const state = { now: NOW };
  return Object.assign(() => state.now, { set: (ms: number) => (state.now = NOW + ms) });
};

it('takes user id, roles and links from a valid token of any key in the set', async () => {
  const verifier = new TokenVerifier(source([current, previous]).fetch, { clock: clock() });
  expect(await verifier.claimsOf(await token(current, { emailVerified: false }))).toEqual({
    sub: 'u1',
    roles: ['doctor'],
    doctorId: 'd1',
    emailVerified: false,
  });
  // The previous key (kept after a rotation) still counts.
  expect(await verifier.claimsOf(await token(previous))).toMatchObject({ sub: 'u1' });
});

it('refuses a token of another key (even one with a known kid), expired, for another issuer or audience, or not ES256', async () => {
  const verifier = new TokenVerifier(source([current, previous]).fetch, { clock: clock(), refetchCooldownMs: 0 });
  const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(
    JSON.stringify({ sub: 'u1', roles: ['admin'], iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE, exp: NOW / 1000 + 900 }),
  ).toString('base64url')}.`;
  const refused = {
    'another key': await token(stranger),
    'an unknown key': await token({ ...stranger, kid: 'k9' }),
    expired: await token(current, {}, { expiresAt: Math.floor(NOW / 1000) - 1 }),
    'another issuer': await token(current, {}, { issuer: 'someone-else' }),
    'another audience': await token(current, {}, { audience: 'elsewhere' }),
    'alg none': unsigned,
    'not a token': 'x-caregrid-roles: admin',
  };
  const outcomes: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(refused)) outcomes[name] = await verifier.claimsOf(value);
  expect(outcomes).toEqual(Object.fromEntries(Object.keys(refused).map((name) => [name, undefined])));
});

it('fetches the set once; for a key it lacks (a rotation) again, after the cooldown since the last fetch; and when it is old', async () => {
  const { fetch, served } = source([previous], [current, previous]);
  const time = clock();
  const verifier = new TokenVerifier(fetch, { refetchCooldownMs: 30, maxAgeMs: 300_000, clock: time });
  expect(await verifier.claimsOf(await token(previous))).toBeDefined();
  expect(await verifier.claimsOf(await token(previous, { doctorId: 'd2' }))).toBeDefined();
  expect(served.fetches).toBe(1);
  // A token of the new key right after the fetch: the rest of the cooldown is waited out, then the set fetched again.
  const started = performance.now();
  expect(await verifier.claimsOf(await token(current))).toBeDefined();
  expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  expect(served.fetches).toBe(2);
  // An old set is fetched again before it verifies.
  time.set(400_000);
  expect(await verifier.claimsOf(await token(current, { doctorId: 'd3' }))).toBeDefined();
  expect(served.fetches).toBe(3);
});

it('remembers a verified token until it expires or its key leaves the set', async () => {
  // Fetched at 0 s, 30 s and 61 s with the key; at 64 s without it.
  const { fetch, served } = source([current], [current], [current], [previous]);
  const time = clock();
  const verifier = new TokenVerifier(fetch, { maxAgeMs: 1_000, refetchCooldownMs: 0, clock: time });
  const shortLived = await token(current, {}, { expiresAt: Math.floor(NOW / 1000) + 60 });
  expect(await verifier.claimsOf(shortLived)).toBeDefined();
  time.set(30_000);
  expect(await verifier.claimsOf(shortLived)).toBeDefined(); // the set was fetched again (old), the key is still in it
  time.set(61_000);
  expect(await verifier.claimsOf(shortLived)).toBeUndefined(); // expired
  const longLived = await token(current);
  time.set(61_500);
  expect(await verifier.claimsOf(longLived)).toBeDefined();
  time.set(64_000);
  expect(await verifier.claimsOf(longLived)).toBeUndefined(); // its key was dropped from the set
  expect(served.fetches).toBe(5); // and once more for the key the token names
});

it('answers 503 (DependencyUnavailableError) while no key set can be had, and keeps an old one when a refresh fails', async () => {
  let up = false;
  const time = clock();
  const verifier = new TokenVerifier(
    async () => {
      if (!up) throw new Error('auth-service is down');
      return { keys: [current.publicJwk] } as JSONWebKeySet;
    },
    { maxAgeMs: 1_000, clock: time },
  );
  await expect(verifier.claimsOf(await token(current))).rejects.toBeInstanceOf(DependencyUnavailableError);
  up = true;
  expect(await verifier.claimsOf(await token(current))).toBeDefined();
  up = false;
  time.set(5_000);
  expect(await verifier.claimsOf(await token(current, { doctorId: 'd9' }))).toBeDefined();
});

it('reads the bearer token of an Authorization header', () => {
  expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
  expect(bearerToken('bearer abc')).toBe('abc');
  expect(bearerToken('Basic abc')).toBeUndefined();
  expect(bearerToken(undefined)).toBeUndefined();
});
