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
import type { DeadLetterArrival, DeadLetterStore, DeadLetterSummary } from '../events/dead-letters.js';
import { decodeCursor, toPage } from '../pagination.js';

export type { Db } from 'mongodb';

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
    await prepare(db);
    logger?.info({ database: db.databaseName }, 'document store ready');
    return { db, check: () => db.command({ ping: 1 }), close: () => client.close() };
  };
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
});

/** The store being unreachable is a 503 (and a RETRY for deliveries), not a 500. */
async function reachable<T>(operation: () => Promise<T>): Promise<T> {
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
  await db.collection('dead_letters').createIndex({ firstSeenAt: 1, _id: 1 });
}

/** A subscriber's dead letters in its document store (see events/dead-letters.ts), keyed by CloudEvent id. */
export function mongoDeadLetterStore(db: Db): DeadLetterStore {
  const letters = db.collection<DeadLetterDocument>('dead_letters');
  const upsert = (letter: DeadLetterArrival, reason: string | null, seen: 0 | 1) => {
    const now = new Date();
    return reachable(() =>
      letters.updateOne(
        { _id: letter.id },
        {
          $set: {
            topic: letter.topic,
            type: letter.type ?? null,
            subject: letter.subject ?? null,
            event: letter.event,
            ...(reason !== null ? { reason } : {}),
            ...(seen > 0 ? { lastSeenAt: now } : {}),
          },
          $inc: { count: seen },
          $setOnInsert: {
            firstSeenAt: now,
            lastRedriveAt: null,
            ...(reason === null ? { reason: null } : {}),
            ...(seen === 0 ? { lastSeenAt: now } : {}),
          },
        },
        { upsert: true },
      ),
    );
  };
  return {
    park: async (letter) => void (await upsert(letter, null, 1)),
    noteDropped: async (letter) => void (await upsert(letter, letter.reason, 0)),
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
    noteRedriveFailure: async (id, reason) =>
      void (await reachable(() => letters.updateOne({ _id: id }, { $set: { reason, lastRedriveAt: new Date() } }))),
    remove: async (id) => void (await reachable(() => letters.deleteOne({ _id: id }))),
  };
}
