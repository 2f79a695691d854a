/**
 * The audit trail's store against the real MongoDB-wire server (FerretDB
 * locally): append-only (a redelivery or a forged replay of an entry's id
 * changes nothing), found by patient, actor and time, newest first across
 * pages, and emptied only by age.
 */
import { randomUUID } from 'node:crypto';
import type { AuditEntry } from '@caregrid/contracts';
import { freshAuditTrail, sampleAuditEntry } from '@caregrid/devkit';
import { EMPTY_CHAIN, verifyChain } from '@caregrid/platform';
import { AuditStore } from '../../src/data/audit-store.js';

let trail: Awaited<ReturnType<typeof freshAuditTrail>>;
let store: AuditStore;

beforeAll(async () => {
  trail = await freshAuditTrail('audit_store');
  store = new AuditStore(trail);
});

afterAll(async () => {
  await trail?.close();
});

it('keeps the first version of an entry: a replay with the same id and other content changes nothing', async () => {
  const original = sampleAuditEntry({ outcome: 'denied', status: 404, clientAddress: '192.0.2.7' });
  expect(await store.append(original)).toBe(true);
  expect(await store.append({ ...original, outcome: 'allowed', status: 200, patientIds: [] })).toBe(false);
  const page = await store.find({ patientId: original.patientIds[0], limit: 10 });
  expect(page.items).toEqual([original]);
});

it('racing deliveries of an entry keep it once, and none of them fails', async () => {
  const entries = Array.from({ length: 20 }, () => sampleAuditEntry());
  const kept = await Promise.all(entries.flatMap((e) => [e, e, e, e]).map((e) => store.append(e)));
  expect(kept.filter(Boolean)).toHaveLength(entries.length);
  expect((await store.find({ patientId: entries[0]!.patientIds[0], limit: 10 })).items).toEqual([entries[0]]);
});

it('finds by patient and by actor, newest first, page by page, within a time window', async () => {
  const patientId = randomUUID();
  const actor = { kind: 'user' as const, userId: randomUUID(), roles: ['receptionist' as const] };
  const base = Date.parse('2031-04-01T10:00:00Z');
  const entries = Array.from({ length: 7 }, (_, i) =>
    sampleAuditEntry({
      at: new Date(base + i * 60_000).toISOString(),
      patientIds: [patientId, randomUUID()],
      actor: i % 2 ? actor : sampleAuditEntry().actor,
    }),
  );
  // Two in the same millisecond: the id breaks the tie, and no page loses or repeats one.
  entries.push(sampleAuditEntry({ at: entries[3]!.at, patientIds: [patientId] }));
  for (const e of entries) await store.append(e);

  const seen: AuditEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.find({ patientId, limit: 3, cursor });
    seen.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  expect(seen.map((e) => e.id)).toEqual([...entries].sort((a, b) => b.at.localeCompare(a.at) || b.id.localeCompare(a.id)).map((e) => e.id));

  const byActor = await store.find({ actor: actor.userId, limit: 100 });
  expect(byActor.items.map((e) => e.id).sort()).toEqual(
    entries
      .filter((e) => e.actor === actor)
      .map((e) => e.id)
      .sort(),
  );

  const window = await store.find({ patientId, from: new Date(base + 60_000), to: new Date(base + 3 * 60_000), limit: 100 });
  expect(window.items.map((e) => e.at)).toEqual([entries[2]!.at, entries[1]!.at]);
});

it('retention removes entries older than the cutoff, and only those', async () => {
  const patientId = randomUUID();
  const old = sampleAuditEntry({ at: '2020-01-01T00:00:00.000Z', patientIds: [patientId] });
  const recent = sampleAuditEntry({ at: new Date().toISOString(), patientIds: [patientId] });
  await store.append(old);
  await store.append(recent);
  expect(await store.purgeOlderThan(new Date('2021-01-01T00:00:00Z'))).toBeGreaterThanOrEqual(1);
  expect((await store.find({ patientId, limit: 10 })).items.map((e) => e.id)).toEqual([recent.id]);
});

it('keeps a batch in one write: new entries stored, entries already there left as they were', async () => {
  const kept = sampleAuditEntry({ outcome: 'denied', status: 404 });
  await store.append(kept);
  const fresh = [sampleAuditEntry(), sampleAuditEntry()];
  expect(await store.appendMany([fresh[0]!, { ...kept, outcome: 'allowed', status: 200 }, fresh[1]!])).toEqual([true, false, true]);
  for (const e of [kept, ...fresh]) expect((await store.find({ patientId: e.patientIds[0], limit: 5 })).items).toEqual([e]);
  // The same batch again (a redelivery): nothing new, nothing changed.
  expect(await store.appendMany(fresh)).toEqual([false, false]);
});

it('its own entries, written by two replicas at once, form one chain: numbered 1..n, each linked, ending at the head', async () => {
  const replicas = [store, new AuditStore(trail)];
  const service = `analytics-service-${randomUUID()}`;
  await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      replicas[i % 2]!.appendOwn(service, [sampleAuditEntry({ service }), sampleAuditEntry({ service })]),
    ),
  );
  const stored = await trail.writer.collection('audit').find({ service }).toArray();
  expect(stored.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
  const entries = (await store.find({ actor: undefined, limit: 1000 })).items.filter((e) => e.service === service);
  const head = await store.headOf(service);
  expect(head?.seq).toBe(24);
  expect(verifyChain({ service, entries, checkpoint: EMPTY_CHAIN, head })).toEqual([]);
});
