import {
  MongoClient,
  MongoNetworkError,
  MongoServerSelectionError,
  type Collection,
  type Db,
  type Document,
  type OptionalUnlessRequiredId,
} from 'mongodb';
import type { Logger } from 'pino';
import { z } from 'zod';
import { DependencyUnavailableError } from '../errors.js';
import { currentContext } from '../context.js';
import { endSpan, SpanKind, startSpan, tracingEnabled } from '../tracing.js';
import { arrivalsById, deadLetterBacklogOf, type DeadLetterStore, type DeadLetterSummary } from '../events/dead-letters.js';
import { decodeCursor, toPage } from '../pagination.js';

export type { Db } from 'mongodb';
export { AUDIT_TRAIL_DATABASE, AUDIT_TRAIL_LAYOUT } from './audit-trail-layout.js';

/**
 * Opener for startService over the MongoDB wire protocol (FerretDB locally,
 * MongoDB elsewhere): connects, then applies the service's index setup — the
 * document-store counterpart of migrations, idempotent by nature.
 */
export function mongoDatabase(prepare: (db: Db) => Promise<unknown>) {
  return async (url: string, logger?: Logger) => {
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 5_000, monitorCommands: tracingEnabled() });
    if (tracingEnabled()) traceCommands(client);
    await client.connect();
    const db = client.db();
    try {
      await prepare(db);
    } catch (error) {
      // A start that fails here must not leave the connection pool behind (it keeps a process alive).
      await client.close();
      throw error;
    }
    logger?.info({ database: db.databaseName }, 'document store ready');
    return { db, check: () => db.command({ ping: 1 }), close: () => client.close() };
  };
}

/** Collections and, for each, the keys of its indexes: a store's layout, made by its owner. */
export type StoreLayout = Readonly<Record<string, readonly Readonly<Record<string, 1 | -1>>[]>>;

/** The name MongoDB gives an index by default (`at_-1__id_-1`). */
const indexName = (key: Readonly<Record<string, 1 | -1>>) =>
  Object.entries(key)
    .map(([field, direction]) => `${field}_${direction}`)
    .join('_');

/** Makes the layout's collections and indexes (idempotent); needs a login that may create them. */
export async function createLayout(db: Db, layout: StoreLayout): Promise<void> {
  const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  for (const [name, indexes] of Object.entries(layout)) {
    if (!existing.has(name)) await db.createCollection(name);
    for (const key of indexes) await db.collection(name).createIndex({ ...key });
  }
}

/**
 * Checks that the layout is there, for a login that may only read and write documents (on
 * FerretDB's PostgreSQL backend even an existing index's createIndex needs the owner): what is
 * missing is named, so a store never provisioned fails the start instead of every request.
 */
export async function checkLayout(db: Db, layout: StoreLayout): Promise<void> {
  for (const [name, indexes] of Object.entries(layout)) {
    const present = await db
      .collection(name)
      .listIndexes()
      .toArray()
      .catch((error: { code?: number }) => {
        if (error.code === 26) return undefined; // NamespaceNotFound
        throw error;
      });
    if (!present) throw new Error(`${db.databaseName}.${name} does not exist: its owner must provision it`);
    const names = new Set(present.map((index) => index.name as string));
    const missing = indexes.map(indexName).filter((index) => !names.has(index));
    if (missing.length > 0)
      throw new Error(`${db.databaseName}.${name} lacks the index(es) ${missing.join(', ')}: its owner must provision them`);
  }
}

const UNTRACED_COMMANDS = new Set(['ping', 'hello', 'ismaster', 'isMaster', 'endSessions', 'saslStart', 'saslContinue']);

/**
 * A span per command sent while serving a request, from the driver's command monitoring (its
 * events fire in the caller's async context). Command documents are not kept: they hold values.
 */
function traceCommands(client: MongoClient): void {
  const open = new Map<number, ReturnType<typeof startSpan>['span']>();
  client.on('commandStarted', (event) => {
    if (!currentContext() || UNTRACED_COMMANDS.has(event.commandName)) return;
    const collection = event.command[event.commandName];
    const { span } = startSpan(`mongodb ${event.commandName}`, SpanKind.CLIENT, {
      'db.system.name': 'mongodb',
      'db.operation.name': event.commandName,
      'db.namespace': event.databaseName,
      ...(typeof collection === 'string' ? { 'db.collection.name': collection } : {}),
    });
    open.set(event.requestId, span);
  });
  const finish = (requestId: number, error?: unknown) => {
    const span = open.get(requestId);
    if (!span) return;
    open.delete(requestId);
    endSpan(span, error);
  };
  client.on('commandSucceeded', (event) => finish(event.requestId));
  client.on('commandFailed', (event) => finish(event.requestId, event.failure));
}

type DeadLetterDocument = {
  _id: string;
  topic: string;
  type: string | null;
  subject: string | null;
  reason: string | null;
  event: unknown;
  firstSeenAt: Date;
  lastSeenAt: Date;
  count: number;
  lastRedriveAt: Date | null;
  attempts: number;
  nextAttemptAt: Date | null;
  poison: boolean;
};

const toDeadLetter = (d: DeadLetterDocument): DeadLetterSummary => ({
  id: d._id,
  topic: d.topic,
  // Absent and null alike (a store may leave out a null written by $setOnInsert).
  type: d.type ?? null,
  subject: d.subject ?? null,
  reason: d.reason ?? null,
  firstSeenAt: d.firstSeenAt.toISOString(),
  lastSeenAt: d.lastSeenAt.toISOString(),
  count: d.count,
  lastRedriveAt: d.lastRedriveAt?.toISOString() ?? null,
  attempts: d.attempts ?? 0,
  nextAttemptAt: d.poison ? null : (d.nextAttemptAt?.toISOString() ?? null),
  poison: d.poison ?? false,
});

/** The store being unreachable is a 503 (and a RETRY for deliveries), not a 500. */
export async function reachable<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError)
      throw new DependencyUnavailableError('database', error);
    throw error;
  }
}

const deadLetterCursor = z.tuple([z.string(), z.string()]);

/** Indexes of the dead-letter collection; call from the service's prepare step. */
/**
 * Inserts each document unless one with its _id is there already, in one round trip (FerretDB
 * stores a batch many times faster than one by one): true for each document inserted, false for
 * each that was there (a redelivery, or one racing it). Other failures throw.
 */
export async function insertManyNew<T extends Document>(
  collection: Collection<T>,
  docs: OptionalUnlessRequiredId<T>[],
): Promise<boolean[]> {
  if (docs.length === 0) return [];
  try {
    await collection.insertMany(docs, { ordered: false });
    return docs.map(() => true);
  } catch (error) {
    // Duplicate keys, each by its index (one document alone: the error itself).
    const { writeErrors, code } = error as {
      writeErrors?: { index: number; code: number }[] | { index: number; code: number };
      code?: number;
    };
    const failed =
      writeErrors === undefined ? (code === 11000 && docs.length === 1 ? [{ index: 0, code }] : undefined) : [writeErrors].flat();
    if (!failed || failed.some((e) => e.code !== 11000)) throw error;
    const already = new Set(failed.map((e) => e.index));
    return docs.map((_, i) => !already.has(i));
  }
}

export async function prepareDeadLetters(db: Db): Promise<void> {
  const letters = db.collection<DeadLetterDocument>('dead_letters');
  await letters.createIndex({ firstSeenAt: 1, _id: 1 });
  await letters.createIndex({ poison: 1, nextAttemptAt: 1 });
  // Letters parked before the automatic re-drive: due now.
  await letters.updateMany({ nextAttemptAt: { $exists: false } }, { $set: { attempts: 0, poison: false, nextAttemptAt: new Date() } });
}

/**
 * A subscriber's dead letters in its document store (see events/dead-letters.ts), keyed by
 * CloudEvent id. Arrivals are written a batch at a time (one insert, then one update for the ids
 * already parked): on FerretDB a write by `_id` costs a scan of the collection, so a backlog
 * parked one letter at a time grew slower with every letter.
 */
export function mongoDeadLetterStore(db: Db): DeadLetterStore {
  const letters = db.collection<DeadLetterDocument>('dead_letters');
  return {
    async parkMany(arrivals, firstDelayMs) {
      const arrived = arrivalsById(arrivals);
      if (arrived.length === 0) return;
      const now = new Date();
      const fresh = await reachable(() =>
        insertManyNew(
          letters,
          arrived.map(({ letter, times }) => ({
            _id: letter.id,
            topic: letter.topic,
            type: letter.type ?? null,
            subject: letter.subject ?? null,
            reason: null,
            event: letter.event,
            firstSeenAt: now,
            lastSeenAt: now,
            count: times,
            lastRedriveAt: null,
            attempts: 0,
            nextAttemptAt: new Date(now.getTime() + firstDelayMs),
            poison: false,
          })),
        ),
      );
      // Already parked (or noted as dropped): counted as often as they came again, one update per count (nearly always 1).
      const again = new Map<number, string[]>();
      for (const [i, { letter, times }] of arrived.entries()) if (!fresh[i]) again.set(times, [...(again.get(times) ?? []), letter.id]);
      for (const [times, ids] of again) {
        await reachable(() => letters.updateMany({ _id: { $in: ids } }, { $inc: { count: times }, $set: { lastSeenAt: now } }));
      }
    },

    async noteDropped(letter) {
      const now = new Date();
      await reachable(() =>
        letters.updateOne(
          { _id: letter.id },
          {
            $set: {
              topic: letter.topic,
              type: letter.type ?? null,
              subject: letter.subject ?? null,
              event: letter.event,
              reason: letter.reason,
              poison: true,
              nextAttemptAt: null,
            },
            $setOnInsert: { firstSeenAt: now, lastSeenAt: now, count: 0, lastRedriveAt: null, attempts: 0 },
          },
          { upsert: true },
        ),
      );
    },
    async list({ limit, cursor }) {
      const after = cursor ? decodeCursor(cursor, deadLetterCursor) : null;
      const filter = after
        ? { $or: [{ firstSeenAt: { $gt: new Date(after[0]) } }, { firstSeenAt: new Date(after[0]), _id: { $gt: after[1] } }] }
        : {};
      const documents = await reachable(() =>
        letters
          .find(filter, { projection: { event: 0 } })
          .sort({ firstSeenAt: 1, _id: 1 })
          .limit(limit + 1)
          .toArray(),
      );
      return toPage(documents, limit, toDeadLetter, (d) => [d.firstSeenAt.toISOString(), d._id]);
    },
    async get(id) {
      const document = await reachable(() => letters.findOne({ _id: id }));
      return document ? { ...toDeadLetter(document), event: document.event } : undefined;
    },
    async due(limit) {
      const documents = await reachable(() =>
        letters
          .find({ poison: false, nextAttemptAt: { $lte: new Date() } })
          .sort({ nextAttemptAt: 1, firstSeenAt: 1 })
          .limit(limit)
          .toArray(),
      );
      return documents.map((d) => ({ ...toDeadLetter(d), event: d.event }));
    },
    async settle(applied, failed) {
      if (applied.length > 0) await reachable(() => letters.deleteMany({ _id: { $in: applied } }));
      if (failed.length === 0) return;
      const now = new Date();
      await reachable(() =>
        letters.bulkWrite(
          failed.map((f) => ({
            updateOne: {
              filter: { _id: f.id },
              update: {
                $set: { reason: f.reason, lastRedriveAt: now, poison: f.poison, nextAttemptAt: f.nextAttemptAt },
                $inc: { attempts: f.counted ? 1 : 0 },
              },
            },
          })),
          { ordered: false },
        ),
      );
    },
    async schedule({ topic, from, to }) {
      const firstSeenAt = { ...(from ? { $gte: from } : {}), ...(to ? { $lt: to } : {}) };
      const result = await reachable(() =>
        letters.updateMany(
          { ...(topic ? { topic } : {}), ...(from || to ? { firstSeenAt } : {}) },
          { $set: { nextAttemptAt: new Date(), poison: false, attempts: 0 } },
        ),
      );
      return result.modifiedCount;
    },
    async backlog() {
      // $group by a compound key with { $sum: 1 }: what FerretDB 1.24 implements alike (infra-facts).
      const [groups, oldest] = await reachable(() =>
        Promise.all([
          letters
            .aggregate<{ _id: { topic: string; poison: boolean }; n: number }>([
              { $group: { _id: { topic: '$topic', poison: '$poison' }, n: { $sum: 1 } } },
            ])
            .toArray(),
          letters
            .find({}, { projection: { firstSeenAt: 1 } })
            .sort({ firstSeenAt: 1 })
            .limit(1)
            .toArray(),
        ]),
      );
      const byTopic = new Map<string, { topic: string; parked: number; poison: number; oldest: Date }>();
      for (const { _id, n } of groups) {
        const row = byTopic.get(_id.topic) ?? { topic: _id.topic, parked: 0, poison: 0, oldest: oldest[0]!.firstSeenAt };
        row.parked += n;
        if (_id.poison) row.poison += n;
        byTopic.set(_id.topic, row);
      }
      return deadLetterBacklogOf([...byTopic.values()].sort((a, b) => a.topic.localeCompare(b.topic)));
    },
  };
}
