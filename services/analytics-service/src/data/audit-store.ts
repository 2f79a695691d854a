import type { AuditEntry, AuditPage, TrailEntry } from '@caregrid/contracts';
import { decodeCursor, encodeCursor } from '@caregrid/platform';
import { insertManyNew, type Db } from '@caregrid/platform/mongo';
import { z } from 'zod';

/**
 * The audit trail, append-only: an entry is inserted once under its id and
 * never updated; only the retention purge removes entries, by age. Stored here
 * rather than in the services whose access it records, so a service can add to
 * the trail (through its outbox and its own topic `audit.<app-id>`, which sets the entry's
 * `service`: see trailEntryOf) but never rewrite it,
 * and the clinical databases carry no audit load. Queries by patient and by
 * actor run on indexes ending in time.
 */
type StoredEntry = Omit<TrailEntry, 'id' | 'at'> & { _id: string; at: Date; actorId: string };

export type AuditQuery = { patientId?: string; actor?: string; from?: Date; to?: Date; limit: number; cursor?: string };

const cursorKey = z.tuple([z.iso.datetime(), z.string()]);

/** The actor's id in one field: a user id or a peer's app-id. */
const actorIdOf = (entry: AuditEntry) =>
  entry.actor.kind === 'user' ? entry.actor.userId : entry.actor.kind === 'service' ? entry.actor.appId : 'anonymous';

/** Nulls spelled out again: a MongoDB-wire store may keep a null field as an absent one (FerretDB does). */
const toEntry = (row: StoredEntry): TrailEntry => ({
  id: row._id,
  at: row.at.toISOString(),
  actor: row.actor,
  service: row.service,
  resource: row.resource,
  resourceId: row.resourceId ?? null,
  action: row.action,
  patientIds: row.patientIds ?? [],
  outcome: row.outcome,
  status: row.status,
  clientAddress: row.clientAddress ?? null,
  requestId: row.requestId,
  ...(row.clientRequestId ? { clientRequestId: row.clientRequestId } : {}),
  traceId: row.traceId,
  ...(row.via ? { via: row.via } : {}),
  ...(row.claimedService ? { claimedService: row.claimedService } : {}),
});

export async function prepareAuditTrail(db: Db): Promise<void> {
  const entries = db.collection('audit');
  await entries.createIndex({ at: -1, _id: -1 });
  await entries.createIndex({ patientIds: 1, at: -1 });
  await entries.createIndex({ actorId: 1, at: -1 });
}

export class AuditStore {
  private readonly entries;

  constructor(db: Db) {
    this.entries = db.collection<StoredEntry>('audit');
  }

  /** Keeps the entry unless one with its id is there already: a redelivery or a replay never changes history. */
  async append(entry: TrailEntry): Promise<boolean> {
    const [kept] = await this.appendMany([entry]);
    return kept!;
  }

  /** Keeps each entry unless one with its id is there already (insertManyNew); false for each that was there. */
  async appendMany(entries: TrailEntry[]): Promise<boolean[]> {
    return insertManyNew(
      this.entries,
      entries.map(({ id, at, ...rest }, i) => ({ ...rest, _id: id, at: new Date(at), actorId: actorIdOf(entries[i]!) })),
    );
  }

  /** Newest first; keyset pagination on (at, id). */
  async find(query: AuditQuery): Promise<AuditPage> {
    const filter: Record<string, unknown> = {};
    if (query.patientId) filter.patientIds = query.patientId;
    if (query.actor) filter.actorId = query.actor;
    const at: Record<string, Date> = {};
    if (query.from) at.$gte = query.from;
    if (query.to) at.$lt = query.to;
    if (Object.keys(at).length > 0) filter.at = at;
    const conditions: Record<string, unknown>[] = [filter];
    if (query.cursor) {
      const [lastAt, lastId] = decodeCursor(query.cursor, cursorKey);
      const before = new Date(lastAt);
      conditions.push({ $or: [{ at: { $lt: before } }, { at: before, _id: { $lt: lastId } }] });
    }
    const rows = await this.entries
      .find({ $and: conditions })
      .sort({ at: -1, _id: -1 })
      .limit(query.limit + 1)
      .toArray();
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toEntry),
      nextCursor: rows.length > query.limit && last ? encodeCursor([last.at.toISOString(), last._id]) : null,
    };
  }

  /** Removes entries older than the retention period; the only deletion there is. */
  async purgeOlderThan(cutoff: Date): Promise<number> {
    const result = await this.entries.deleteMany({ at: { $lt: cutoff } });
    return result.deletedCount;
  }
}
