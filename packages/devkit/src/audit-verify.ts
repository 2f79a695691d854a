import { AUDIT_PUBLISHERS, auditRecorded, type AuditEntry } from '@caregrid/contracts';
import { EMPTY_CHAIN, verifyChain, type ChainHead, type ChainProblem } from '@caregrid/platform';
import { createMysqlPool } from '@caregrid/platform/mysql';
import { createPgPool } from '@caregrid/platform/postgres';
import { MongoClient } from 'mongodb';
import type { SecretsDocument } from './provision.js';

/** The trail keeps its own entries (reads of the trail) under this service, with the head in its own store. */
const TRAIL_KEEPER = 'analytics-service';

/** What one service's chain looked like: how much was checked, from where, and what is wrong. */
export type ChainReport = { service: string; entries: number; checkpointSeq: number; headSeq: number | null; problems: ChainProblem[] };
export type TrailReport = { ok: boolean; chains: ChainReport[] };

/** A publisher's own word on its chain: its head, and the numbers still in its outbox, unpublished. */
type PublisherChain = { head: ChainHead; pending: Set<number> };

/** A service not deployed here, or never started (no database, no chain table): nothing of it to compare with. */
const ABSENT = new Set(['42P01', '3D000', 'ER_NO_SUCH_TABLE', 'ER_BAD_DB_ERROR']);

async function publisherChain(service: string, databaseUrl: string): Promise<PublisherChain | undefined> {
  try {
    return await readPublisherChain(service, databaseUrl);
  } catch (error) {
    if (ABSENT.has(String((error as { code?: unknown }).code))) return undefined;
    throw error;
  }
}

async function readPublisherChain(service: string, databaseUrl: string): Promise<PublisherChain | undefined> {
  if (/^mysql/.test(databaseUrl)) {
    const pool = createMysqlPool(databaseUrl, { max: 1 });
    try {
      const [heads] = await pool.query<import('mysql2').RowDataPacket[]>('SELECT seq, hash FROM audit_chain WHERE service = ?', [service]);
      const [pending] = await pool.query<import('mysql2').RowDataPacket[]>(
        "SELECT JSON_EXTRACT(data, '$.seq') AS seq FROM outbox WHERE type = ? AND published_at IS NULL",
        [auditRecorded.type],
      );
      return heads[0]
        ? { head: { seq: Number(heads[0].seq), hash: String(heads[0].hash) }, pending: new Set(pending.map((r) => Number(r.seq))) }
        : undefined;
    } finally {
      await pool.end();
    }
  }
  const pool = createPgPool(databaseUrl, { max: 1 });
  try {
    const heads = await pool.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_chain WHERE service = $1', [service]);
    const pending = await pool.query<{ seq: string }>("SELECT data->>'seq' AS seq FROM outbox WHERE type = $1 AND published_at IS NULL", [
      auditRecorded.type,
    ]);
    return heads.rows[0]
      ? { head: { seq: Number(heads.rows[0].seq), hash: heads.rows[0].hash }, pending: new Set(pending.rows.map((r) => Number(r.seq))) }
      : undefined;
  } finally {
    await pool.end();
  }
}

type StoredEntry = Omit<AuditEntry, 'id' | 'at'> & { _id: string; at: Date; actorId?: string; via?: string; claimedService?: string };

/** An entry as its publisher hashed it: the stored document without the trail's own fields, the service it claimed, nulls spelled out. */
function asPublished(row: StoredEntry): AuditEntry {
  const { _id, at, actorId: _actorId, via: _via, claimedService, service, ...rest } = row;
  return {
    ...rest,
    id: _id,
    at: at.toISOString(),
    service: claimedService ?? service,
    resourceId: rest.resourceId ?? null,
    clientAddress: rest.clientAddress ?? null,
    patientIds: rest.patientIds ?? [],
  };
}

/**
 * Walks every service's chain in the trail (analytics-service's MongoDB-wire store) against each
 * publisher's head, read from the publisher's own database: a deleted entry shows as a gap, an
 * altered one as a hash mismatch (or a broken link), newest entries missing as a truncated tail;
 * what retention removed is below the service's checkpoint and not expected. The databases are
 * reached with the services' own credentials (`secrets`: app-id → databaseUrl; the trail with
 * analytics-service's writer login, `auditWriterUrl`, which may only read and append), so whoever
 * runs this has the reach of all of them.
 */
export async function verifyAuditTrail(secrets: SecretsDocument): Promise<TrailReport> {
  const trailUrl = secrets[TRAIL_KEEPER]?.auditWriterUrl;
  if (!trailUrl) throw new Error(`no auditWriterUrl for ${TRAIL_KEEPER} in the secrets`);
  const publishers = new Map<string, PublisherChain>();
  for (const service of AUDIT_PUBLISHERS) {
    const url = secrets[service]?.databaseUrl;
    const chain = url ? await publisherChain(service, url) : undefined;
    if (chain) publishers.set(service, chain);
  }
  const mongo = new MongoClient(trailUrl, { serverSelectionTimeoutMS: 5_000 });
  try {
    const db = mongo.db();
    const entries = db.collection<StoredEntry>('audit');
    // analytics-service's head: the last move of its chain (audit-store.ts, audit_chain_moves).
    const [ownHead] = await db
      .collection<{ service: string; from: number; seq: number; hash: string }>('audit_chain_moves')
      .find({ service: TRAIL_KEEPER })
      .sort({ from: -1 })
      .limit(1)
      .toArray();
    if (ownHead) publishers.set(TRAIL_KEEPER, { head: { seq: ownHead.seq, hash: ownHead.hash }, pending: new Set() });
    const checkpoints = new Map(
      (await db.collection<{ _id: string; seq: number; hash: string }>('audit_checkpoints').find().toArray()).map((c) => [
        c._id,
        { seq: c.seq, hash: c.hash },
      ]),
    );
    const services = new Set([...publishers.keys(), ...((await entries.distinct('service', { seq: { $exists: true } })) as string[])]);
    const chains: ChainReport[] = [];
    for (const service of [...services].sort()) {
      const stored = (await entries.find({ service, seq: { $exists: true } }).toArray()).map(asPublished);
      const checkpoint = checkpoints.get(service) ?? EMPTY_CHAIN;
      const publisher = publishers.get(service);
      chains.push({
        service,
        entries: stored.length,
        checkpointSeq: checkpoint.seq,
        headSeq: publisher?.head.seq ?? null,
        problems: verifyChain({ service, entries: stored, checkpoint, head: publisher?.head, pending: publisher?.pending }),
      });
    }
    return { ok: chains.every((c) => c.problems.length === 0), chains };
  } finally {
    await mongo.close();
  }
}

/** One line per problem, for people. */
export function describeChainProblem(problem: ChainProblem): string {
  switch (problem.kind) {
    case 'gap':
      return `${problem.service}: entries ${problem.fromSeq}..${problem.toSeq} are missing (deleted)`;
    case 'altered':
      return `${problem.service}: entry ${problem.seq} (${problem.id}) does not match its hash (altered)`;
    case 'unlinked':
      return `${problem.service}: entry ${problem.seq} (${problem.id}) does not link to the entry before it (${problem.previousId}: rewritten or replaced)`;
    case 'duplicate':
      return `${problem.service}: several entries hold place ${problem.seq} (${problem.ids.join(', ')})`;
    case 'truncated':
      return `${problem.service}: the trail ends at ${problem.storedSeq} but ${problem.service} wrote up to ${problem.headSeq} (newest entries missing or replaced)`;
  }
}
