/**
 * The audit trail under database roles, against the real ferretdb-audit (FerretDB on PostgreSQL,
 * each login a PostgreSQL role with its own grants): analytics-service's writer login may append
 * and read but never delete, alter or re-index an entry; its retention login may remove entries
 * and keep checkpoints but never add or alter an entry; without a login, nothing. And the service
 * starts only on a trail its owner has laid out, moving a trail left in its own database there.
 *
 * The MongoDB container of CAREGRID_INFRA=containers has no users, so these run on the local
 * servers only (Compose and Kubernetes give the same rights with Mongo custom roles).
 */
import { randomUUID } from 'node:crypto';
import { freshAuditTrail, freshDatabase, infraMode } from '@caregrid/devkit';
import { MongoClient, type Db } from 'mongodb';
import { pino } from 'pino';
import { openAnalyticsStores } from '../../src/data/stores.js';

const REFUSED = /permission denied|must be owner/;
const describeLocal = infraMode() === 'local' ? describe : describe.skip;
const quiet = pino({ level: 'silent' });

let trail: Awaited<ReturnType<typeof freshAuditTrail>>;
beforeAll(async () => {
  trail = await freshAuditTrail('audit_roles');
});
afterAll(async () => {
  await trail?.close();
});

type Doc = { _id: string; [field: string]: unknown };
const audit = (db: Db) => db.collection<Doc>('audit');
const entryDoc = (overrides: Record<string, unknown> = {}): Doc => ({
  _id: randomUUID(),
  at: new Date(),
  service: 'patient-service',
  actorId: randomUUID(),
  patientIds: [randomUUID()],
  outcome: 'allowed',
  status: 200,
  ...overrides,
});

describeLocal('the writer login', () => {
  it('appends entries and reads them back', async () => {
    const entry = entryDoc();
    await audit(trail.writer).insertOne(entry);
    expect(await audit(trail.writer).findOne({ _id: entry._id })).toMatchObject({ outcome: 'allowed' });
    await trail.writer
      .collection('audit_chain_moves')
      .insertOne({ _id: `s-${entry._id}` as never, service: 's', from: 0, seq: 1, hash: 'h' });
  });

  it('cannot delete, alter, drop or re-index an entry, nor touch checkpoints: the entry stays as written', async () => {
    const entry = entryDoc();
    const entries = audit(trail.writer);
    await entries.insertOne(entry);
    const id = { _id: entry._id };
    await expect(entries.deleteOne(id)).rejects.toThrow(REFUSED);
    await expect(entries.deleteMany({})).rejects.toThrow(REFUSED);
    await expect(entries.updateOne(id, { $set: { outcome: 'denied' } })).rejects.toThrow(REFUSED);
    await expect(entries.replaceOne(id, { at: entry.at, service: entry.service, outcome: 'denied' })).rejects.toThrow(REFUSED);
    await expect(entries.findOneAndDelete(id)).rejects.toThrow(REFUSED);
    await expect(entries.createIndex({ outcome: 1 })).rejects.toThrow(REFUSED);
    await expect(entries.drop()).rejects.toThrow(REFUSED);
    await expect(trail.writer.collection('audit_checkpoints').insertOne({ _id: 'patient-service' as never, seq: 1 })).rejects.toThrow(
      REFUSED,
    );
    await expect(trail.writer.collection('forged').insertOne({ note: 'a collection of my own' })).rejects.toThrow(REFUSED);
    expect(await entries.findOne(id)).toMatchObject({ outcome: 'allowed', status: 200 });
  });
});

describeLocal('the retention login', () => {
  it('removes old entries and keeps checkpoints, but cannot add or alter an entry', async () => {
    const old = entryDoc({ at: new Date(0) });
    await audit(trail.writer).insertOne(old);
    const expiring = audit(trail.retention);
    await expect(expiring.insertOne(entryDoc())).rejects.toThrow(REFUSED);
    await expect(expiring.updateOne({ _id: old._id }, { $set: { at: new Date() } })).rejects.toThrow(REFUSED);
    await expect(trail.retention.collection('audit_chain_moves').insertOne({ service: 's', from: 9 })).rejects.toThrow(REFUSED);
    const checkpoints = trail.retention.collection('audit_checkpoints');
    await checkpoints.insertOne({ _id: `c-${old._id}` as never, seq: 1, hash: 'h' });
    await checkpoints.updateOne({ _id: `c-${old._id}` as never }, { $set: { seq: 2 } });
    expect((await expiring.deleteMany({ _id: old._id, at: { $lt: new Date(1) } })).deletedCount).toBe(1);
  });
});

describeLocal('without the logins', () => {
  const readAs = async (url: string) => {
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 3_000 });
    try {
      await client.connect();
      return await client.db().collection('audit').findOne({});
    } finally {
      await client.close();
    }
  };
  it('no credentials, or a wrong password, read nothing', async () => {
    const writer = new URL(trail.access.auditWriterUrl);
    const anonymous = `mongodb://${writer.host}${writer.pathname}`;
    await expect(readAs(anonymous)).rejects.toThrow();
    writer.password = 'not-the-password';
    await expect(readAs(writer.toString())).rejects.toThrow();
  });
});

describeLocal('analytics-service opening its stores', () => {
  let own: { url: string; drop: () => Promise<void> };
  let client: MongoClient;
  let db: Db;
  beforeAll(async () => {
    own = await freshDatabase('mongodb', 'audit_roles_own');
    client = new MongoClient(own.url);
    await client.connect();
    db = client.db();
  });
  afterAll(async () => {
    await client?.close();
    await own?.drop();
  });

  it('refuses to start without the trail logins, or on a trail its owner never laid out', async () => {
    await expect(openAnalyticsStores(own.url, quiet, { databaseUrl: own.url })).rejects.toThrow(/auditWriterUrl and auditRetentionUrl/);
    const unprovisioned = (url: string) => url.replace(/\/t_audit_roles_audit_[0-9a-f]+\?/, '/t_never_laid_out?');
    await expect(
      openAnalyticsStores(own.url, quiet, {
        databaseUrl: own.url,
        auditWriterUrl: unprovisioned(trail.access.auditWriterUrl),
        auditRetentionUrl: unprovisioned(trail.access.auditRetentionUrl),
      }),
    ).rejects.toThrow(/t_never_laid_out\.audit does not exist/);
  });

  it('moves a trail kept in its own database (before the trail had a store) into the trail, once', async () => {
    const legacy = [entryDoc({ seq: 1 }), entryDoc({ seq: 2 })];
    await audit(db).insertMany(legacy);
    await db.collection('audit_checkpoints').insertOne({ _id: `legacy-${legacy[0]!._id}` as never, seq: 7, hash: 'h7' });
    const secret = { databaseUrl: own.url, ...trail.access };
    for (let start = 0; start < 2; start++) {
      const stores = await openAnalyticsStores(own.url, quiet, secret);
      await stores.check();
      await stores.close();
    }
    const moved = await audit(trail.writer)
      .find({ _id: { $in: legacy.map((e) => e._id) } })
      .toArray();
    expect(moved.map((e) => e.seq).sort()).toEqual([1, 2]);
    expect(await trail.writer.collection('audit_checkpoints').findOne({ _id: `legacy-${legacy[0]!._id}` as never })).toMatchObject({
      seq: 7,
    });
    expect((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name)).not.toContain('audit');
  });
});
