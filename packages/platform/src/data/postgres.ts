import pg from 'pg';
import { z } from 'zod';
import { DependencyUnavailableError } from '../errors.js';
import type { DeadLetterArrival, DeadLetterStore, DeadLetterSummary } from '../events/dead-letters.js';
import { currentContext } from '../context.js';
import { endSpan, startStatementSpan, tracingEnabled } from '../tracing.js';
import { decodeCursor, toPage } from '../pagination.js';
import { migrate, migration, type Migration, type MigrationTarget } from './migrations.js';
import { pgConnectionConfig } from './tls.js';
import { outboxRowValues, type OutboxEvent, type OutboxStore } from './outbox.js';

export type { Pool, PoolClient } from 'pg';
export { pgConnectionConfig } from './tls.js';

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

/** Runs `fn` in a transaction; connection-level failures surface as 503, not 500. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
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

/** Platform tables first (outbox), then the service's own migrations. */
export function migratePostgres(pool: pg.Pool, serviceMigrations: Migration[], logger?: Parameters<typeof migrate>[2]) {
  return migrate(
    pgMigrationTarget(pool),
    [pgOutboxMigration, pgOutboxClaimsMigration, pgOutboxTraceMigration, ...serviceMigrations],
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
 * event must be known before the write (built from the values written).
 */
export async function writeWithOutboxEvent<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  statement: string,
  values: unknown[],
  event: Omit<OutboxEvent, 'time'>,
): Promise<R[]> {
  const n = values.length;
  const query = {
    text: `WITH written AS (${statement}),
           queued AS (INSERT INTO outbox (id, topic, type, subject, data, traceparent)
                      SELECT $${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6} FROM written)
           SELECT * FROM written`,
    values: [...values, ...outboxRowValues(event)],
  };
  return (await atomicStatement<R>(pool, query.text, query.values)).rows;
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
      events.map((e) => JSON.stringify(e.data)),
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
    append: (event) => enqueueEvent(pool, event),
    appendMany: (events) => enqueueEvents(pool, events),
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
  };
}

/**
 * Opener for startService: pool from the secret's URL, platform + service migrations applied;
 * a subscriber (`deadLetters`) also gets the dead-letter table, after its own migrations.
 */
export function postgresDatabase(serviceMigrations: Migration[], options: { deadLetters?: boolean } = {}) {
  return async (url: string, logger?: Parameters<typeof migrate>[2]) => {
    const pool = createPgPool(url);
    await migratePostgres(pool, options.deadLetters ? [...serviceMigrations, pgDeadLetterMigration] : serviceMigrations, logger);
    return { db: pool, check: () => pool.query('SELECT 1'), close: () => pool.end(), outbox: pgOutboxStore(pool) };
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
});

const deadLetterCursor = z.tuple([z.string(), z.string()]);
const SUMMARY_COLUMNS = 'event_id, topic, event_type, subject, reason, first_seen_at, last_seen_at, seen_count, last_redrive_at';

export function pgDeadLetterStore(pool: pg.Pool): DeadLetterStore {
  const upsert = (letter: DeadLetterArrival, reason: string | null, seen: 0 | 1) =>
    atomicStatement(
      pool,
      `INSERT INTO dead_letters (event_id, topic, event_type, subject, payload, reason, seen_count)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (event_id) DO UPDATE SET
         payload = EXCLUDED.payload,
         reason = COALESCE(EXCLUDED.reason, dead_letters.reason),
         seen_count = dead_letters.seen_count + EXCLUDED.seen_count,
         last_seen_at = CASE WHEN EXCLUDED.seen_count > 0 THEN now() ELSE dead_letters.last_seen_at END`,
      [letter.id, letter.topic, letter.type ?? null, letter.subject ?? null, JSON.stringify(letter.event), reason, seen],
    );
  return {
    park: async (letter) => void (await upsert(letter, null, 1)),
    noteDropped: async (letter) => void (await upsert(letter, letter.reason, 0)),
    async list({ limit, cursor }) {
      const after = cursor ? decodeCursor(cursor, deadLetterCursor) : null;
      const { rows } = await atomicStatement<DeadLetterRow>(
        pool,
        `SELECT ${SUMMARY_COLUMNS} FROM dead_letters
          WHERE $1::timestamptz IS NULL OR (first_seen_at, event_id) > ($1, $2::text)
          ORDER BY first_seen_at, event_id LIMIT $3`,
        [after?.[0] ?? null, after?.[1] ?? null, limit + 1],
      );
      return toPage(rows, limit, toDeadLetter, (r) => [r.first_seen_at.toISOString(), r.event_id]);
    },
    async get(id) {
      const { rows } = await atomicStatement<DeadLetterRow>(
        pool,
        `SELECT ${SUMMARY_COLUMNS}, payload FROM dead_letters WHERE event_id = $1`,
        [id],
      );
      return rows[0] ? { ...toDeadLetter(rows[0]), event: rows[0].payload } : undefined;
    },
    noteRedriveFailure: async (id, reason) =>
      void (await atomicStatement(pool, 'UPDATE dead_letters SET reason = $2, last_redrive_at = now() WHERE event_id = $1', [id, reason])),
    remove: async (id) => void (await atomicStatement(pool, 'DELETE FROM dead_letters WHERE event_id = $1', [id])),
  };
}
