/**
 * The PostgreSQL store of Idempotency-Keys against a real database: a write held for its answer
 * commits with it or not at all, a key whose owner died is taken over once its lease ran out (the
 * late owner's write then rolled back), expired keys are never answered from and are purged as
 * new keys are claimed.
 */
import { randomUUID } from 'node:crypto';
import { freshDatabase } from '@caregrid/devkit';
import { migration, runWithContext, type ClaimOutcome, type IdempotencyClaim, type StoredAnswer } from '@caregrid/platform';
import { createPgPool, inTransaction, migratePostgres, pgIdempotencyStore, type Pool } from '@caregrid/platform/postgres';

let pool: Pool;
let drop: () => Promise<void>;

beforeAll(async () => {
  const database = await freshDatabase('postgres', 'idempotency_store');
  drop = database.drop;
  pool = createPgPool(database.url, { max: 4 });
  await migratePostgres(pool, [migration('001_things', 'CREATE TABLE things (id uuid PRIMARY KEY, name text NOT NULL)')]);
});

afterAll(async () => {
  await pool?.end();
  await drop?.();
});

const scope = () => ({ caller: 'user:u1', route: 'POST /things', key: randomUUID() });
const answer = (id: string): StoredAnswer => ({
  status: 201,
  headers: { 'content-type': 'application/json; charset=utf-8', location: `/things/${id}` },
  body: Buffer.from(JSON.stringify({ id })),
  audit: { patientIds: [], resourceId: id, denied: false },
});
const claimed = (outcome: ClaimOutcome): IdempotencyClaim => {
  if (outcome.outcome !== 'claimed') throw new Error(`expected a claim, got ${outcome.outcome}`);
  return outcome.claim;
};
/** A write as a route makes it, inside the request context that holds the claim's writes. */
const writeThing = (claim: IdempotencyClaim, id: string) =>
  runWithContext({ requestId: 'r', traceparent: '00-0-0-00', identity: {}, heldWrites: claim.writes }, () =>
    inTransaction(pool, (client) => client.query('INSERT INTO things (id, name) VALUES ($1, $2)', [id, 'thing'])),
  );
const things = async (id: string) => Number((await pool.query('SELECT count(*) FROM things WHERE id = $1', [id])).rows[0].count);

it('the first claim owns the key; the write waits, uncommitted, for the answer and commits with it', async () => {
  const store = pgIdempotencyStore(pool);
  const key = scope();
  const claim = claimed(await store.claim(key, 'hash-1'));
  const id = randomUUID();
  await writeThing(claim, id);
  expect(await things(id)).toBe(0);
  expect(await store.claim(key, 'hash-1')).toEqual({ outcome: 'in-flight' });
  expect(await claim.complete(answer(id))).toEqual({ stored: true, committedWrites: true });
  expect(await things(id)).toBe(1);
  expect(await store.claim(key, 'hash-1')).toEqual({ outcome: 'answered', answer: answer(id) });
  expect(await store.claim(key, 'hash-2')).toEqual({ outcome: 'mismatch' });
  // The same key of another caller, or of another route, is another key.
  expect((await store.claim({ ...key, caller: 'user:u2' }, 'hash-1')).outcome).toBe('claimed');
  expect((await store.claim({ ...key, route: 'POST /others' }, 'hash-1')).outcome).toBe('claimed');
});

it('an abandoned request (5xx) rolls its write back and frees the key for the retry', async () => {
  const store = pgIdempotencyStore(pool);
  const key = scope();
  const claim = claimed(await store.claim(key, 'hash-1'));
  const id = randomUUID();
  await writeThing(claim, id);
  await claim.abandon();
  expect(await things(id)).toBe(0);
  expect((await store.claim(key, 'hash-1')).outcome).toBe('claimed');
});

it('an owner past its lease is taken over; its late answer is not stored and its write is rolled back', async () => {
  const store = pgIdempotencyStore(pool, { leaseMs: 200 });
  const key = scope();
  const late = claimed(await store.claim(key, 'hash-1'));
  const lateId = randomUUID();
  await writeThing(late, lateId);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const taker = claimed(await store.claim(key, 'hash-1'));
  expect(await late.complete(answer(lateId))).toEqual({ stored: false, committedWrites: false });
  expect(await things(lateId)).toBe(0);
  const id = randomUUID();
  await writeThing(taker, id);
  expect(await taker.complete(answer(id))).toEqual({ stored: true, committedWrites: true });
  expect(await store.claim(key, 'hash-1')).toEqual({ outcome: 'answered', answer: answer(id) });
});

it('an expired key is never answered from: it is claimed afresh, and expired keys are purged as keys are claimed', async () => {
  const store = pgIdempotencyStore(pool, { ttlMs: 100 });
  const key = scope();
  await claimed(await store.claim(key, 'hash-1')).complete(answer(randomUUID()));
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect((await store.claim(key, 'hash-2')).outcome).toBe('claimed');
  const others = [scope(), scope(), scope()];
  for (const other of others) await claimed(await store.claim(other, 'h')).complete(answer(randomUUID()));
  await new Promise((resolve) => setTimeout(resolve, 200));
  await pgIdempotencyStore(pool).claim(scope(), 'h');
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM idempotency_keys WHERE key = ANY($1)', [others.map((o) => o.key)]);
  expect(rows[0]).toEqual({ n: 0 });
});
