import { MongoClient, type Db } from 'mongodb';
import type { Logger } from 'pino';

export type { Db } from 'mongodb';

/**
 * Opener for startService over the MongoDB wire protocol (FerretDB locally,
 * MongoDB elsewhere): connects, then applies the service's index setup — the
 * document-store counterpart of migrations, idempotent by nature.
 */
export function mongoDatabase(prepare: (db: Db) => Promise<unknown>) {
  return async (url: string, logger?: Logger) => {
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 5_000 });
    await client.connect();
    const db = client.db();
    await prepare(db);
    logger?.info({ database: db.databaseName }, 'document store ready');
    return { db, check: () => db.command({ ping: 1 }), close: () => client.close() };
  };
}
