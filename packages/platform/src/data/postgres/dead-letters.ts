import pg from 'pg';
import { atomicStatement } from './transactions.js';
import { z } from 'zod';
import { arrivalsById, deadLetterBacklogOf, type DeadLetterStore, type DeadLetterSummary } from '../../events/dead-letters.js';
import { decodeCursor, toPage } from '../../pagination.js';
import { migration } from '../migrations.js';

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
