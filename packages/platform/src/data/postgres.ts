import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import { DependencyUnavailableError } from '../errors.js';
import { arrivalsById, deadLetterBacklogOf, type DeadLetterStore, type DeadLetterSummary } from '../events/dead-letters.js';
import type { AuditEntry } from '@caregrid/contracts';
import { auditEntryForWrite } from '../audit/trail.js';
import { chainEntries, GENESIS_HASH } from '../audit/chain.js';
import { currentContext } from '../context.js';
import { endSpan, startStatementSpan, tracingEnabled } from '../tracing.js';
import { decodeCursor, toPage } from '../pagination.js';
import { migrate, migration, type Migration, type MigrationTarget } from './migrations.js';
import { pgConnectionConfig } from './tls.js';
import { auditRowsByChain, isAuditRow, outboxRowValues, serializedEventData, type OutboxEvent, type OutboxStore } from './outbox.js';
import {
  IDEMPOTENCY_LEASE_MS,
  IDEMPOTENCY_TTL_MS,
  type IdempotencyClaim,
  type IdempotencyStore,
  type StoredAnswer,
} from '../http/idempotency.js';

export type { Pool, PoolClient } from 'pg';
export { pgConnectionConfig } from './tls.js';
export * from './scope-clause.js';

// Dates come back as ISO strings in the API anyway; DATE columns stay 'YYYY-MM-DD' instead of local midnight.
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);

/** A pool for the URL; TLS (`sslmode`, `sslrootcert`: a CA file) as in tls.ts. */
export function createPgPool(connectionString: string, options: { max?: number } = {}): pg.Pool {
  const pool = new pg.Pool({
    ...pgConnectionConfig(connectionString),
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  if (tracingEnabled()) pool.on('connect', traceQueries);
  return pool;
}

const TRANSACTION_CONTROL = /^\s*(BEGIN|COMMIT|ROLLBACK)\b/i;

/** A span per query made while serving a request (startStatementSpan; pool.query runs on a client too). */
function traceQueries(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const first = args[0] as string | { text?: string } | undefined;
    const text = typeof first === 'string' ? first : first?.text;
    const callback = args.some((arg) => typeof arg === 'function');
    const span = text && !callback ? startStatementSpan('postgresql', text, TRANSACTION_CONTROL) : undefined;
    if (!span) return query(...args);
    const result = query(...args) as Promise<unknown>;
    result.then(
      () => endSpan(span),
      (error: unknown) => endSpan(span, error),
    );
    return result;
  };
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '53300', '08006', '08001']);

/** A connection-level failure as a 503 (DependencyUnavailableError); any other error as it is. */
const asUnavailable = (error: unknown) =>
  UNAVAILABLE_CODES.has((error as { code?: string }).code ?? '') ? new DependencyUnavailableError('database', error) : error;

/** A pooled connection; the database being unreachable is a 503, not a 500. */
async function connect(pool: pg.Pool): Promise<pg.PoolClient> {
  try {
    return await pool.connect();
  } catch (error) {
    throw new DependencyUnavailableError('database', error);
  }
}

/**
 * The writes of one request held in one open transaction until its answer is stored beside them
 * (a route with `idempotent: true` and an Idempotency-Key, see http/idempotency.ts): the record,
 * its event and the key's answer commit together or not at all, so a crash can leave neither a
 * write without its key nor a key without its write. inTransaction and writeWithOutboxEvent run
 * in it when the request context holds one for their pool: the first write begins it, each later
 * one is a savepoint in it (a refused write leaves the earlier ones in place). It stays open only
 * from the first write to the answer.
 */
export class HeldTransaction {
  private client: pg.PoolClient | undefined;
  // One write at a time: savepoints of concurrent writes on one connection would interleave.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly pool: pg.Pool) {}

  /** Whether a write began it (and so something awaits commitWith or rollback). */
  get open(): boolean {
    return this.client !== undefined;
  }

  run<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const result = this.queue.then(() => this.runNow(fn));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async runNow<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const held = this.client;
    if (!held) {
      const client = await connect(this.pool);
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        this.client = client;
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        client.release();
        throw asUnavailable(error);
      }
    }
    try {
      await held.query('SAVEPOINT held_write');
      const result = await fn(held);
      await held.query('RELEASE SAVEPOINT held_write');
      return result;
    } catch (error) {
      await held.query('ROLLBACK TO SAVEPOINT held_write').catch(() => undefined);
      throw asUnavailable(error);
    }
  }

  /** Runs `text` (the answer's UPDATE) in the transaction and commits all when it changed a row; rolls all back when not. */
  async commitWith(text: string, values: unknown[]): Promise<boolean> {
    await this.queue;
    const client = this.client;
    this.client = undefined;
    if (!client) throw new Error('no write is held');
    try {
      const { rowCount } = await client.query(text, values);
      await client.query(rowCount ? 'COMMIT' : 'ROLLBACK');
      return Boolean(rowCount);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw asUnavailable(error);
    } finally {
      client.release();
    }
  }

  async rollback(): Promise<void> {
    await this.queue;
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

/**
 * inTransaction's writes held for an idempotent answer: the audit entry joins them, and commits
 * with them and the answer (a key taken over meanwhile rolls back all three).
 */
async function inHeldTransaction<T>(held: HeldTransaction, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const audit = auditEntryForWrite();
  try {
    const result = await held.run(async (client) => {
      const written = await fn(client);
      if (audit) await enqueueAuditEntries(client, [audit.row()]).catch(auditUnavailable);
      return written;
    });
    audit?.committed();
    return result;
  } catch (error) {
    audit?.failed();
    throw error;
  }
}

/** The current request's held transaction on this pool, if it has one. */
function heldOn(pool: pg.Pool): HeldTransaction | undefined {
  const held = currentContext()?.heldWrites;
  return held instanceof HeldTransaction && held.pool === pool ? held : undefined;
}

/**
 * Runs `fn` in a transaction; connection-level failures surface as 503, not 500. In a request to
 * an audited write, the request's audit entry is added to the outbox last, in the same
 * transaction (auditEntryForWrite): the change and its entry commit together, or neither does.
 * Inside a request that holds its writes (HeldTransaction), in that transaction, entry included.
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const held = heldOn(pool);
  if (held) return inHeldTransaction(held, fn);
  const client = await connect(pool);
  const audit = auditEntryForWrite();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    if (audit) await enqueueAuditEntries(client, [audit.row()]).catch(auditUnavailable);
    await client.query('COMMIT');
    audit?.committed();
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    audit?.failed();
    throw asUnavailable(error);
  } finally {
    client.release();
  }
}

/** The audit entry of a write not going into the outbox: the change is not made, and the answer is a 503 (as for a read). */
function auditUnavailable(error: unknown): never {
  throw new DependencyUnavailableError('audit trail', error);
}

/**
 * Runs `fn` on a connection of its own for state that lives as long as a session (a session-level
 * advisory lock, settings), and closes that connection afterwards instead of returning it to the
 * pool, so none of that state outlives `fn`. Connection-level failures are a 503, as in inTransaction.
 */
export async function withSession<T>(pool: pg.Pool, fn: (session: pg.PoolClient) => Promise<T>): Promise<T> {
  const session = await connect(pool);
  try {
    return await fn(session);
  } catch (error) {
    throw asUnavailable(error);
  } finally {
    session.release(true);
  }
}

export function pgMigrationTarget(pool: pg.Pool): MigrationTarget {
  return {
    async withLock(fn) {
      const client = await pool.connect();
      try {
        await client.query("SELECT pg_advisory_lock(hashtext('caregrid.schema_migrations'))");
        await client.query(
          'CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
        );
        return await fn();
      } finally {
        await client.query("SELECT pg_advisory_unlock(hashtext('caregrid.schema_migrations'))").catch(() => undefined);
        client.release();
      }
    },
    async applied() {
      const { rows } = await pool.query<{ version: string; checksum: string }>('SELECT version, checksum FROM schema_migrations');
      return new Map(rows.map((row) => [row.version, row.checksum]));
    },
    async apply(m) {
      // PostgreSQL DDL is transactional: a failing migration leaves nothing behind.
      await inTransaction(pool, async (client) => {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)', [m.version, m.checksum]);
      });
    },
  };
}

export const pgOutboxMigration = migration(
  'platform_001_outbox',
  `CREATE TABLE outbox (
     id uuid PRIMARY KEY,
     topic text NOT NULL,
     type text NOT NULL,
     subject text NOT NULL,
     data jsonb NOT NULL,
     created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
     published_at timestamptz
   );
   CREATE INDEX outbox_pending ON outbox (created_at, id) WHERE published_at IS NULL;`,
);

// Claims (lease), attempts and parking for the relay (see outbox.ts). The subject index serves
// the "no earlier row of this subject is parked or claimed elsewhere" test of every claim.
export const pgOutboxClaimsMigration = migration(
  'platform_002_outbox_claims',
  `ALTER TABLE outbox
     ADD COLUMN claimed_by text,
     ADD COLUMN claimed_until timestamptz,
     ADD COLUMN attempts integer NOT NULL DEFAULT 0,
     ADD COLUMN last_error text,
     ADD COLUMN parked_at timestamptz;
   CREATE INDEX outbox_pending_subject ON outbox (topic, subject, created_at, id) WHERE published_at IS NULL;
   CREATE INDEX outbox_parked ON outbox (id) WHERE parked_at IS NOT NULL AND published_at IS NULL;`,
);

// The trace of the request that wrote the event: the relay publishes it, later, inside that trace.
export const pgOutboxTraceMigration = migration('platform_003_outbox_trace', 'ALTER TABLE outbox ADD COLUMN traceparent text;');

/**
 * The answers kept for Idempotency-Keys (see pgIdempotencyStore): one row per caller, route and
 * key; `owner` and `locked_until` while the first request runs, `status`… once it answered.
 */
export const pgIdempotencyMigration = migration(
  'platform_004_idempotency_keys',
  `CREATE TABLE idempotency_keys (
     caller text NOT NULL,
     route text NOT NULL,
     key text NOT NULL,
     request_hash text NOT NULL,
     owner uuid,
     locked_until timestamptz,
     status smallint,
     headers jsonb,
     body bytea,
     audit jsonb,
     created_at timestamptz NOT NULL DEFAULT now(),
     expires_at timestamptz NOT NULL,
     PRIMARY KEY (caller, route, key)
   );
   CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);`,
);

/**
 * Audit entries still waiting under the old shared topic `audit` move to the service's own
 * (`audit.<app-id>`, the entry's `service` in its own outbox): nobody may publish `audit` any more.
 */
export const pgOutboxAuditTopicMigration = migration(
  'platform_005_audit_topic_per_service',
  `UPDATE outbox SET topic = 'audit.' || (data->>'service') WHERE topic = 'audit' AND published_at IS NULL`,
);

/**
 * The head of each service's audit hash chain (audit/chain.ts): the last entry's number and hash.
 * Its row is locked by every transaction that queues entries, until it commits: entries get
 * consecutive numbers in commit order, however many replicas write.
 */
export const pgAuditChainMigration = migration(
  'platform_006_audit_chain',
  `CREATE TABLE audit_chain (
     service text PRIMARY KEY,
     seq bigint NOT NULL DEFAULT 0,
     hash text NOT NULL DEFAULT '${GENESIS_HASH}'
   );`,
);

/** Platform tables first (outbox, idempotency keys), then the service's own migrations. */
export function migratePostgres(pool: pg.Pool, serviceMigrations: Migration[], logger?: Parameters<typeof migrate>[2]) {
  return migrate(
    pgMigrationTarget(pool),
    [
      pgOutboxMigration,
      pgOutboxClaimsMigration,
      pgOutboxTraceMigration,
      pgIdempotencyMigration,
      pgOutboxAuditTopicMigration,
      pgAuditChainMigration,
      ...serviceMigrations,
    ],
    logger,
  );
}

/** Adds an event to the outbox inside the caller's transaction. */
export async function enqueueEvent(client: pg.PoolClient | pg.Pool, event: Omit<OutboxEvent, 'time'>): Promise<void> {
  await client.query(
    'INSERT INTO outbox (id, topic, type, subject, data, traceparent) VALUES ($1, $2, $3, $4, $5, $6)',
    outboxRowValues(event),
  );
}

/**
 * A single-row write and its outbox event as one statement: `statement` (an INSERT or UPDATE …
 * RETURNING *) runs in a CTE, and the event is queued only for a row it wrote. One statement is
 * atomic on its own, so the pair needs no BEGIN/COMMIT: one round trip instead of four. The
 * event must be known before the write (built from the values written). In a request to an
 * audited write, the request's audit entry goes into the outbox too, for a row written only
 * (auditEntryForWrite): then the statement and the entry share a transaction, the entry taking its
 * place in the service's audit chain last (enqueueAuditEntries). Inside a request that holds its
 * writes (HeldTransaction), in that transaction.
 */
export async function writeWithOutboxEvent<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  statement: string,
  values: unknown[],
  event: Omit<OutboxEvent, 'time'>,
): Promise<R[]> {
  const $ = (n: number) => `$${values.length + n}`;
  const text = `WITH written AS (${statement}),
                     queued AS (INSERT INTO outbox (id, topic, type, subject, data, traceparent)
                                SELECT ${$(1)}, ${$(2)}, ${$(3)}, ${$(4)}, ${$(5)}, ${$(6)} FROM written LIMIT 1)
                SELECT * FROM written`;
  const allValues = [...values, ...outboxRowValues(event)];
  const audit = auditEntryForWrite();
  const held = heldOn(pool);
  if (!audit) {
    const { rows } = held ? await held.run((client) => client.query<R>(text, allValues)) : await atomicStatement<R>(pool, text, allValues);
    return rows;
  }
  // The request's audit entry joins the row written (none written, none queued), in one
  // transaction: its place in the chain is taken under the chain head's lock, after the write, as
  // inTransaction takes it.
  try {
    const writeThenAudit = async (client: pg.PoolClient) => {
      const { rows } = await client.query<R>(text, allValues);
      if (rows.length > 0) await enqueueAuditEntries(client, [audit.row()]).catch(auditUnavailable);
      return rows;
    };
    const written = held ? await held.run(writeThenAudit) : await inOwnTransaction(pool, writeThenAudit);
    // No row written, no entry with it: the entry is written after the handler, as for a refused write.
    if (written.length > 0) audit.committed();
    else audit.failed();
    return written;
  } catch (error) {
    audit.failed();
    throw error;
  }
}

/** A transaction of the platform's own (not the request's: no audit entry joins it); unreachable is a 503. */
async function inOwnTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await connect(pool);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw asUnavailable(error);
  } finally {
    client.release();
  }
}

/**
 * Queues audit entries in the caller's transaction, each linked onto its service's hash chain
 * (chainEntries): the chain head's row is created if need be and locked (INSERT … ON CONFLICT DO
 * UPDATE locks it, and returns the head as last committed) until the transaction ends, so
 * concurrent transactions, of any replica, take their numbers one after the other.
 */
export async function enqueueAuditEntries(client: pg.PoolClient, rows: Omit<OutboxEvent, 'time'>[]): Promise<void> {
  for (const [service, serviceRows] of auditRowsByChain(rows)) {
    const { rows: heads } = await client.query<{ seq: string; hash: string }>(
      `INSERT INTO audit_chain (service) VALUES ($1)
       ON CONFLICT (service) DO UPDATE SET service = EXCLUDED.service RETURNING seq, hash`,
      [service],
    );
    const chained = chainEntries(
      { seq: Number(heads[0]!.seq), hash: heads[0]!.hash },
      serviceRows.map((row) => row.data as AuditEntry),
    );
    await client.query('UPDATE audit_chain SET seq = $2, hash = $3 WHERE service = $1', [service, chained.head.seq, chained.head.hash]);
    await enqueueEvents(
      client,
      serviceRows.map((row, i) => ({ ...row, data: chained.entries[i] })),
    );
  }
}

/** Outbox rows outside a request's transaction: audit entries among them take their chain places in a transaction of their own. */
async function appendToOutbox(pool: pg.Pool, events: Omit<OutboxEvent, 'time'>[]): Promise<void> {
  if (!events.some(isAuditRow)) return enqueueEvents(pool, events);
  await inOwnTransaction(pool, async (client) => {
    await enqueueEvents(
      client,
      events.filter((event) => !isAuditRow(event)),
    );
    await enqueueAuditEntries(client, events.filter(isAuditRow));
  });
}

/**
 * One statement outside any transaction block: atomic on its own (no BEGIN/COMMIT round trips);
 * as with inTransaction, the database being unreachable is a 503, not a 500.
 */
export async function atomicStatement<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  text: string,
  values: unknown[],
): Promise<pg.QueryResult<R>> {
  const client = await connect(pool);
  try {
    return await client.query<R>(text, values);
  } catch (error) {
    throw asUnavailable(error);
  } finally {
    client.release();
  }
}

/** Several outbox rows in one statement (one round trip, one commit). */
export async function enqueueEvents(client: pg.PoolClient | pg.Pool, events: Omit<OutboxEvent, 'time'>[]): Promise<void> {
  if (events.length === 0) return;
  const traceparent = currentContext()?.traceparent ?? null;
  await client.query(
    `INSERT INTO outbox (id, topic, type, subject, data, traceparent)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[])`,
    [
      events.map((e) => e.id),
      events.map((e) => e.topic),
      events.map((e) => e.type),
      events.map((e) => e.subject),
      events.map((e) => serializedEventData(e)),
      events.map((e) => e.traceparent ?? traceparent),
    ],
  );
}

type PgOutboxRow = {
  id: string;
  topic: string;
  type: string;
  subject: string;
  data: unknown;
  created_at: Date;
  attempts: number;
  traceparent: string | null;
};

export function pgOutboxStore(pool: pg.Pool): OutboxStore {
  return {
    append: (event) => appendToOutbox(pool, [event]),
    appendMany: (events) => appendToOutbox(pool, events),
    claim: (relayId, limit, leaseMs) =>
      inTransaction(pool, async (client) => {
        // One claimer at a time (released at commit): two relays must not both see a subject's
        // head as free. Publishing happens after this transaction, without it.
        await client.query("SELECT pg_advisory_xact_lock(hashtext('caregrid.outbox.claim'))");
        const { rows } = await client.query<PgOutboxRow>(
          `WITH candidates AS (
             SELECT o.id FROM outbox o
              WHERE o.published_at IS NULL AND o.parked_at IS NULL
                AND (o.claimed_until IS NULL OR o.claimed_until < now() OR o.claimed_by = $1)
                AND NOT EXISTS (
                  SELECT 1 FROM outbox e
                   WHERE e.topic = o.topic AND e.subject = o.subject AND e.published_at IS NULL
                     AND (e.created_at, e.id) < (o.created_at, o.id)
                     AND (e.parked_at IS NOT NULL OR (e.claimed_by <> $1 AND e.claimed_until >= now())))
              ORDER BY o.created_at, o.id LIMIT $2),
           claimed AS (
             UPDATE outbox SET claimed_by = $1, claimed_until = now() + $3 * interval '1 millisecond'
              WHERE id IN (SELECT id FROM candidates)
              RETURNING id, topic, type, subject, data, created_at, attempts, traceparent)
           SELECT * FROM claimed ORDER BY created_at, id`,
          [relayId, limit, leaseMs],
        );
        return rows.map((r) => ({
          id: r.id,
          topic: r.topic,
          type: r.type,
          subject: r.subject,
          data: r.data,
          time: r.created_at,
          attempts: r.attempts,
          traceparent: r.traceparent ?? undefined,
        }));
      }),
    async markPublished(ids) {
      await pool.query(
        'UPDATE outbox SET published_at = now(), claimed_by = NULL, claimed_until = NULL WHERE id = ANY($1::uuid[]) AND published_at IS NULL',
        [ids],
      );
    },
    async recordFailure(id, error, maxAttempts) {
      const { rows } = await pool.query<{ parked: boolean }>(
        `UPDATE outbox SET attempts = attempts + 1, last_error = $2, claimed_by = NULL, claimed_until = NULL,
                parked_at = CASE WHEN attempts + 1 >= $3 THEN now() END
          WHERE id = $1 AND published_at IS NULL RETURNING parked_at IS NOT NULL AS parked`,
        [id, error, maxAttempts],
      );
      return { parked: rows[0]?.parked ?? false };
    },
    async release(relayId) {
      await pool.query('UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = $1 AND published_at IS NULL', [
        relayId,
      ]);
    },
    async listParked({ limit, after }) {
      const { rows } = await pool.query<{
        id: string;
        topic: string;
        type: string;
        subject: string;
        attempts: number;
        last_error: string | null;
        created_at: Date;
        parked_at: Date;
        held: number;
      }>(
        `SELECT p.id, p.topic, p.type, p.subject, p.attempts, p.last_error, p.created_at, p.parked_at,
                (SELECT count(*)::int FROM outbox h
                  WHERE h.topic = p.topic AND h.subject = p.subject AND h.published_at IS NULL
                    AND (h.created_at, h.id) > (p.created_at, p.id)) AS held
           FROM outbox p
          WHERE p.parked_at IS NOT NULL AND p.published_at IS NULL AND ($2::uuid IS NULL OR p.id > $2::uuid)
          ORDER BY p.id LIMIT $1`,
        [limit + 1, after ?? null],
      );
      return toPage(
        rows,
        limit,
        (r) => ({
          id: r.id,
          topic: r.topic,
          type: r.type,
          subject: r.subject,
          attempts: r.attempts,
          lastError: r.last_error,
          createdAt: r.created_at.toISOString(),
          parkedAt: r.parked_at.toISOString(),
          held: r.held,
        }),
        (r) => [r.id],
      );
    },
    async redrive(id) {
      const result = await pool.query(
        `UPDATE outbox SET parked_at = NULL, attempts = 0, last_error = NULL, claimed_by = NULL, claimed_until = NULL
          WHERE id = $1 AND parked_at IS NOT NULL AND published_at IS NULL`,
        [id],
      );
      return (result.rowCount ?? 0) > 0;
    },
    async purgePublished(olderThan) {
      const result = await pool.query('DELETE FROM outbox WHERE published_at < $1', [olderThan]);
      return result.rowCount ?? 0;
    },
    async backlog() {
      // The partial index outbox_pending holds exactly these rows.
      const { rows } = await atomicStatement<{ pending: number; parked: number; oldest: Date | null }>(
        pool,
        `SELECT count(*)::int AS pending, count(parked_at)::int AS parked, min(created_at) AS oldest
           FROM outbox WHERE published_at IS NULL`,
        [],
      );
      const { pending, parked, oldest } = rows[0]!;
      return { pending, parked, oldestPendingAt: oldest?.toISOString() ?? null };
    },
  };
}

/**
 * Opener for startService: pool from the secret's URL, platform + service migrations applied;
 * a subscriber (`deadLetters`) also gets the dead-letter table, after its own migrations.
 */
export function postgresDatabase(serviceMigrations: Migration[], options: { deadLetters?: boolean } = {}) {
  return async (url: string, logger?: Parameters<typeof migrate>[2]) => {
    const pool = createPgPool(url);
    await migratePostgres(
      pool,
      options.deadLetters ? [...serviceMigrations, pgDeadLetterMigration, pgDeadLetterRedriveMigration] : serviceMigrations,
      logger,
    );
    return {
      db: pool,
      check: () => pool.query('SELECT 1'),
      close: () => pool.end(),
      outbox: pgOutboxStore(pool),
      idempotency: pgIdempotencyStore(pool),
    };
  };
}

/**
 * The dead-letter table of a subscriber (see events/dead-letters.ts). Written to
 * create the table or to extend an older one of the same name (billing's): it runs
 * after the service's own migrations (`postgresDatabase(…, { deadLetters: true })`).
 */
export const pgDeadLetterMigration = migration(
  'platform_002_dead_letters',
  `CREATE TABLE IF NOT EXISTS dead_letters (event_id text PRIMARY KEY, payload jsonb NOT NULL);
   ALTER TABLE dead_letters
     ADD COLUMN IF NOT EXISTS topic text NOT NULL DEFAULT 'unknown',
     ADD COLUMN IF NOT EXISTS event_type text,
     ADD COLUMN IF NOT EXISTS subject text,
     ADD COLUMN IF NOT EXISTS reason text,
     ADD COLUMN IF NOT EXISTS first_seen_at timestamptz NOT NULL DEFAULT now(),
     ADD COLUMN IF NOT EXISTS last_seen_at timestamptz NOT NULL DEFAULT now(),
     ADD COLUMN IF NOT EXISTS seen_count integer NOT NULL DEFAULT 0,
     ADD COLUMN IF NOT EXISTS last_redrive_at timestamptz;
   CREATE INDEX IF NOT EXISTS dead_letters_by_age ON dead_letters (first_seen_at, event_id);`,
);

/** The automatic re-drive's bookkeeping: attempts of the event's own, when it is due next, poison. */
export const pgDeadLetterRedriveMigration = migration(
  'platform_003_dead_letter_redrive',
  `ALTER TABLE dead_letters
     ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0,
     ADD COLUMN IF NOT EXISTS next_attempt_at timestamptz DEFAULT now(),
     ADD COLUMN IF NOT EXISTS poison boolean NOT NULL DEFAULT false;
   CREATE INDEX IF NOT EXISTS dead_letters_due ON dead_letters (next_attempt_at) WHERE NOT poison;`,
);

type DeadLetterRow = {
  event_id: string;
  topic: string;
  event_type: string | null;
  subject: string | null;
  reason: string | null;
  first_seen_at: Date;
  last_seen_at: Date;
  seen_count: number;
  last_redrive_at: Date | null;
  attempts: number;
  next_attempt_at: Date | null;
  poison: boolean;
  payload?: unknown;
};

const toDeadLetter = (r: DeadLetterRow): DeadLetterSummary => ({
  id: r.event_id,
  topic: r.topic,
  type: r.event_type,
  subject: r.subject,
  reason: r.reason,
  firstSeenAt: r.first_seen_at.toISOString(),
  lastSeenAt: r.last_seen_at.toISOString(),
  count: r.seen_count,
  lastRedriveAt: r.last_redrive_at?.toISOString() ?? null,
  attempts: r.attempts,
  nextAttemptAt: r.poison ? null : (r.next_attempt_at?.toISOString() ?? null),
  poison: r.poison,
});

const deadLetterCursor = z.tuple([z.string(), z.string()]);
const SUMMARY_COLUMNS =
  'event_id, topic, event_type, subject, reason, first_seen_at, last_seen_at, seen_count, last_redrive_at, attempts, next_attempt_at, poison';

export function pgDeadLetterStore(pool: pg.Pool): DeadLetterStore {
  const query = <R extends pg.QueryResultRow>(text: string, values: unknown[] = []) => atomicStatement<R>(pool, text, values);
  return {
    async parkMany(arrivals, firstDelayMs) {
      // One row per id (ON CONFLICT may touch a row once), counted as often as it came.
      const letters = arrivalsById(arrivals);
      if (letters.length === 0) return;
      await query(
        `INSERT INTO dead_letters (event_id, topic, event_type, subject, payload, seen_count, next_attempt_at)
         SELECT *, now() + $7 * interval '1 millisecond'
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::int[])
         ON CONFLICT (event_id) DO UPDATE SET
           payload = EXCLUDED.payload,
           seen_count = dead_letters.seen_count + EXCLUDED.seen_count,
           last_seen_at = now()`,
        [
          letters.map(({ letter }) => letter.id),
          letters.map(({ letter }) => letter.topic),
          letters.map(({ letter }) => letter.type ?? null),
          letters.map(({ letter }) => letter.subject ?? null),
          letters.map(({ letter }) => JSON.stringify(letter.event)),
          letters.map(({ times }) => times),
          firstDelayMs,
        ],
      );
    },
    async noteDropped(letter) {
      await query(
        `INSERT INTO dead_letters (event_id, topic, event_type, subject, payload, reason, seen_count, poison, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6, 0, true, NULL)
         ON CONFLICT (event_id) DO UPDATE SET payload = EXCLUDED.payload, reason = EXCLUDED.reason, poison = true`,
        [letter.id, letter.topic, letter.type ?? null, letter.subject ?? null, JSON.stringify(letter.event), letter.reason],
      );
    },
    async list({ limit, cursor }) {
      const after = cursor ? decodeCursor(cursor, deadLetterCursor) : null;
      const { rows } = await query<DeadLetterRow>(
        `SELECT ${SUMMARY_COLUMNS} FROM dead_letters
          WHERE $1::timestamptz IS NULL OR (first_seen_at, event_id) > ($1, $2::text)
          ORDER BY first_seen_at, event_id LIMIT $3`,
        [after?.[0] ?? null, after?.[1] ?? null, limit + 1],
      );
      return toPage(rows, limit, toDeadLetter, (r) => [r.first_seen_at.toISOString(), r.event_id]);
    },
    async get(id) {
      const { rows } = await query<DeadLetterRow>(`SELECT ${SUMMARY_COLUMNS}, payload FROM dead_letters WHERE event_id = $1`, [id]);
      return rows[0] ? { ...toDeadLetter(rows[0]), event: rows[0].payload } : undefined;
    },
    async due(limit) {
      const { rows } = await query<DeadLetterRow>(
        `SELECT ${SUMMARY_COLUMNS}, payload FROM dead_letters
          WHERE NOT poison AND next_attempt_at <= now() ORDER BY next_attempt_at, first_seen_at LIMIT $1`,
        [limit],
      );
      return rows.map((r) => ({ ...toDeadLetter(r), event: r.payload }));
    },
    async settle(applied, failed) {
      if (applied.length > 0) await query('DELETE FROM dead_letters WHERE event_id = ANY($1::text[])', [applied]);
      if (failed.length === 0) return;
      await query(
        `UPDATE dead_letters d SET reason = f.reason, last_redrive_at = now(),
                attempts = d.attempts + CASE WHEN f.counted THEN 1 ELSE 0 END, poison = f.poison, next_attempt_at = f.next_attempt_at
           FROM unnest($1::text[], $2::text[], $3::boolean[], $4::boolean[], $5::timestamptz[])
                AS f(event_id, reason, counted, poison, next_attempt_at)
          WHERE d.event_id = f.event_id`,
        [
          failed.map((f) => f.id),
          failed.map((f) => f.reason),
          failed.map((f) => f.counted),
          failed.map((f) => f.poison),
          failed.map((f) => f.nextAttemptAt),
        ],
      );
    },
    async schedule({ topic, from, to }) {
      const result = await query(
        `UPDATE dead_letters SET next_attempt_at = now(), poison = false, attempts = 0
          WHERE ($1::text IS NULL OR topic = $1) AND ($2::timestamptz IS NULL OR first_seen_at >= $2)
            AND ($3::timestamptz IS NULL OR first_seen_at < $3)`,
        [topic ?? null, from ?? null, to ?? null],
      );
      return result.rowCount ?? 0;
    },
    async backlog() {
      const { rows } = await query<{ topic: string; parked: number; poison: number; oldest: Date }>(
        `SELECT topic, count(*)::int AS parked, count(*) FILTER (WHERE poison)::int AS poison, min(first_seen_at) AS oldest
           FROM dead_letters GROUP BY topic ORDER BY topic`,
      );
      return deadLetterBacklogOf(rows);
    },
  };
}

type IdempotencyRow = {
  request_hash: string;
  status: number | null;
  headers: Record<string, string> | null;
  body: Buffer | null;
  audit: StoredAnswer['audit'] | null;
};

/**
 * Idempotency-Keys and their answers in the service's own database (see http/idempotency.ts).
 * A claim is one statement: a new key is inserted as owned by this request for `leaseMs`; an
 * expired key, or one whose owner died before answering (its lease ran out, and its writes,
 * held with the answer, were never committed), is taken over; any other is left to be read.
 *
 * Purged as keys are claimed: each claim deletes up to 20 expired keys in the same statement
 * (no extra round trip, no scheduler in every service that takes keys), so the table holds about
 * one TTL's worth of keys. An expired key is never answered from, even before it is purged.
 */
export function pgIdempotencyStore(pool: pg.Pool, options: { ttlMs?: number; leaseMs?: number } = {}): IdempotencyStore {
  const ttlMs = options.ttlMs ?? IDEMPOTENCY_TTL_MS;
  const leaseMs = options.leaseMs ?? IDEMPOTENCY_LEASE_MS;
  const claimOf = (scope: { caller: string; route: string; key: string }, owner: string): IdempotencyClaim => {
    const writes = new HeldTransaction(pool);
    const where = 'caller = $1 AND route = $2 AND key = $3 AND owner = $4';
    const keyValues = [scope.caller, scope.route, scope.key, owner];
    return {
      writes,
      async complete(answer) {
        const text = `UPDATE idempotency_keys SET status = $5, headers = $6, body = $7, audit = $8, owner = NULL, locked_until = NULL
                       WHERE ${where}`;
        const values = [...keyValues, answer.status, JSON.stringify(answer.headers), answer.body, JSON.stringify(answer.audit ?? null)];
        // Whatever the request wrote commits with its answer, or not at all (the key was taken over).
        if (writes.open) {
          const stored = await writes.commitWith(text, values);
          return { stored, committedWrites: stored };
        }
        const { rowCount } = await atomicStatement(pool, text, values);
        return { stored: Boolean(rowCount), committedWrites: false };
      },
      async abandon() {
        await writes.rollback();
        await atomicStatement(pool, `DELETE FROM idempotency_keys WHERE ${where}`, keyValues);
      },
    };
  };
  return {
    async claim(scope, fingerprint) {
      const owner = randomUUID();
      const { rows } = await atomicStatement(
        pool,
        `WITH purged AS (
           DELETE FROM idempotency_keys WHERE (caller, route, key) IN (
             SELECT caller, route, key FROM idempotency_keys
              WHERE expires_at < now() AND (caller, route, key) <> ($1, $2, $3)
              ORDER BY expires_at LIMIT 20 FOR UPDATE SKIP LOCKED))
         INSERT INTO idempotency_keys AS k (caller, route, key, request_hash, owner, locked_until, expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 millisecond', now() + $7 * interval '1 millisecond')
         ON CONFLICT (caller, route, key) DO UPDATE
           SET request_hash = EXCLUDED.request_hash, owner = EXCLUDED.owner, locked_until = EXCLUDED.locked_until,
               expires_at = EXCLUDED.expires_at, created_at = now(), status = NULL, headers = NULL, body = NULL, audit = NULL
         WHERE k.expires_at < now() OR (k.status IS NULL AND k.locked_until < now())
         RETURNING owner`,
        [scope.caller, scope.route, scope.key, fingerprint, owner, leaseMs, ttlMs],
      );
      if (rows.length > 0) return { outcome: 'claimed', claim: claimOf(scope, owner) };
      const { rows: found } = await atomicStatement<IdempotencyRow>(
        pool,
        `SELECT request_hash, status, headers, body, audit FROM idempotency_keys
          WHERE caller = $1 AND route = $2 AND key = $3 AND expires_at >= now()`,
        [scope.caller, scope.route, scope.key],
      );
      const row = found[0];
      // Gone since the claim: its request failed (5xx) and let the key go; the next claim takes it.
      if (!row) return { outcome: 'in-flight' };
      if (row.request_hash !== fingerprint) return { outcome: 'mismatch' };
      if (row.status === null) return { outcome: 'in-flight' };
      return {
        outcome: 'answered',
        answer: { status: row.status, headers: row.headers ?? {}, body: row.body ?? Buffer.alloc(0), audit: row.audit ?? undefined },
      };
    },
  };
}
