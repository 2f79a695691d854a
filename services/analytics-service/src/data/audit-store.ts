import type { AuditEntry, AuditPage, TrailEntry } from '@caregrid/contracts';
import { chainEntries, EMPTY_CHAIN, decodeCursor, encodeCursor, type ChainHead } from '@caregrid/platform';
import type { Logger } from '@caregrid/platform';
import { insertManyNew, type Db } from '@caregrid/platform/mongo';
import type { AuditTrailLogins } from './stores.js';
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
  ...(row.seq !== undefined && row.seq !== null ? { seq: row.seq, prevHash: row.prevHash, hash: row.hash } : {}),
  ...(row.via ? { via: row.via } : {}),
  ...(row.claimedService ? { claimedService: row.claimedService } : {}),
});

/**
 * The trail's collections as analytics-service once kept them in its own database, and the login
 * that may add to each in the trail's store.
 */
const LEGACY_COLLECTIONS: [string, keyof AuditTrailLogins][] = [
  ['audit', 'writer'],
  ['audit_chain_moves', 'writer'],
  ['audit_checkpoints', 'retention'],
];

/**
 * Moves a trail left in the service's own database (before the trail had a store of its own) into
 * the trail's store, a batch at a time, then drops the old collection. A start that stops midway
 * starts over: what was copied is there already (insertManyNew), and replicas moving at once
 * copy the same documents.
 */
export async function moveLegacyTrail(own: Db, trail: AuditTrailLogins, logger: Logger): Promise<void> {
  const present = new Set((await own.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  for (const [name, login] of LEGACY_COLLECTIONS) {
    if (!present.has(name)) continue;
    const from = own.collection<{ _id: string }>(name);
    const to = trail[login].collection<{ _id: string }>(name);
    let moved = 0;
    for (let after: string | undefined; ;) {
      const batch = await from
        .find(after === undefined ? {} : { _id: { $gt: after } })
        .sort({ _id: 1 })
        .limit(500)
        .toArray();
      if (batch.length === 0) break;
      moved += (await insertManyNew(to, batch)).filter(Boolean).length;
      after = batch[batch.length - 1]!._id;
    }
    await from.drop().catch((error: { code?: number }) => {
      if (error.code !== 26) throw error; // NamespaceNotFound: another replica dropped it
    });
    logger.info({ collection: name, moved }, 'audit trail moved to its own store');
  }
}

/** Per service, the last entry retention removed: where verification of what is left begins. */
type ChainDocument = { _id: string; seq: number; hash: string; at?: Date };

/**
 * One move of analytics-service's own chain head: from `from` to (`seq`, `hash`). Its id is
 * `<service>@<from>`, so only one replica can move the head on from a given place: the store's
 * unique `_id` is the one atomic decision FerretDB offers (it has no transactions, and a
 * filtered update is a read and a write, so a compare-and-set on one head document lets two
 * replicas both win).
 */
type HeadMove = { _id: string; service: string; from: number; seq: number; hash: string; at: Date };

/** Attempts at taking places in analytics-service's own chain before giving up (503): replicas racing for the head. */
const CHAIN_ATTEMPTS = 20;

export class AuditStore {
  private readonly entries;
  /** analytics-service's own chain: every move of its head (its entries are written here, not published). */
  private readonly headMoves;
  /** Per service, the last entry retention removed: where verification of what is left begins. */
  private readonly checkpoints;

  /** The entries as retention reaches them: the only login that may remove any. */
  private readonly expiring;

  constructor(trail: AuditTrailLogins) {
    this.entries = trail.writer.collection<StoredEntry>('audit');
    this.headMoves = trail.writer.collection<HeadMove>('audit_chain_moves');
    this.checkpoints = trail.retention.collection<ChainDocument>('audit_checkpoints');
    this.expiring = trail.retention.collection<StoredEntry>('audit');
  }

  /**
   * analytics-service's own entries (reads of the trail), linked onto its own chain. The head
   * moves first, by inserting the move from where it stands (replicas racing for the same place
   * retry from the new head), then the entries are inserted. A crash between the two leaves
   * numbers with no entry, which verification reports as a gap (the request got a 503: nothing
   * was served).
   */
  async appendOwn(service: string, entries: AuditEntry[]): Promise<boolean[]> {
    for (let attempt = 0; attempt < CHAIN_ATTEMPTS; attempt++) {
      const head = (await this.headOf(service)) ?? EMPTY_CHAIN;
      const chained = chainEntries(head, entries);
      const move: HeadMove = { _id: `${service}@${head.seq}`, service, from: head.seq, ...chained.head, at: new Date() };
      const [moved] = await insertManyNew(this.headMoves, [move]);
      if (moved) return this.appendMany(chained.entries);
    }
    throw new Error(`${service}'s audit chain head kept moving: ${CHAIN_ATTEMPTS} attempts`);
  }

  /** analytics-service's own head (for verification, as a publisher's head is read from its database). */
  async headOf(service: string): Promise<ChainHead | undefined> {
    const [last] = await this.headMoves.find({ service }).sort({ from: -1 }).limit(1).toArray();
    return last ? { seq: last.seq, hash: last.hash } : undefined;
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

  /**
   * Removes entries older than the retention period; the only deletion there is. A service's
   * chained entries go as a prefix of its chain (all below its oldest entry still within the
   * period: a slightly later `at` may hold a smaller number), and the last one removed is kept as
   * the service's checkpoint first, so what is left still verifies from there.
   */
  async purgeOlderThan(cutoff: Date): Promise<number> {
    let removed = 0;
    const services = (await this.expiring.distinct('service', { seq: { $exists: true } })) as string[];
    for (const service of services) {
      const [firstKept] = await this.expiring
        .find({ service, seq: { $exists: true }, at: { $gte: cutoff } })
        .sort({ seq: 1 })
        .limit(1)
        .toArray();
      const below = firstKept?.seq ?? Number.MAX_SAFE_INTEGER;
      const [lastRemoved] = await this.expiring
        .find({ service, seq: { $lt: below } })
        .sort({ seq: -1 })
        .limit(1)
        .toArray();
      if (!lastRemoved) continue;
      const checkpoint = { seq: lastRemoved.seq!, hash: lastRemoved.hash!, at: lastRemoved.at };
      const previous = await this.checkpoints.findOne({ _id: service });
      if (!previous) await insertManyNew(this.checkpoints, [{ _id: service, ...checkpoint }]);
      if (previous && previous.seq < checkpoint.seq) await this.checkpoints.updateOne({ _id: service }, { $set: checkpoint });
      removed += (await this.expiring.deleteMany({ service, seq: { $lte: checkpoint.seq } })).deletedCount;
    }
    // Entries from before the chain: by age alone.
    removed += (await this.expiring.deleteMany({ seq: { $exists: false }, at: { $lt: cutoff } })).deletedCount;
    return removed;
  }
}
