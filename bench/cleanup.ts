/**
 * The retention cleanup over many outdated appointments: rows seeded straight
 * into appointment-service's PostgreSQL (valid for its schema: past, unique
 * patients and doctors, so no exclusion constraint fires), the cleanup
 * triggered as an admin through the gateway, and bookings running meanwhile.
 * The run's time is the service's own record (cleanup_runs): the gateway's
 * answer may time out (invocation timeout) while the run goes on.
 */
import pg from 'pg';
import type { Bookings } from './bookings.js';
import { bookingFigures } from './bookings.js';
import { startLoad, type LoadResult } from './load.js';
import type { Figure } from './report.js';
import type { System } from './system.js';

const SEED_CHUNK = 100_000;

/** Seeds `rows` appointments that ended ~800+ days ago (the default retention is 730 days), in chunks. */
export async function seedOutdated(db: pg.Pool, rows: number, progress: (line: string) => void): Promise<number> {
  const began = performance.now();
  for (let offset = 0; offset < rows; offset += SEED_CHUNK) {
    const count = Math.min(SEED_CHUNK, rows - offset);
    await db.query(
      `INSERT INTO appointments (id, patient_id, doctor_id, patient_name, doctor_name, specialization,
                                 start_at, end_at, service_type, amount, currency, status)
       SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'Bench Patient', 'Dr Bench', 'cardiology',
              now() - interval '800 days' - make_interval(mins => g) - interval '30 minutes',
              now() - interval '800 days' - make_interval(mins => g),
              'consultation', 5000, 'EUR', (ARRAY['fulfilled', 'fulfilled', 'fulfilled', 'cancelled', 'noshow'])[1 + g % 5]
         FROM generate_series($1::int, $2::int) AS g`,
      [offset + 1, offset + count],
    );
    progress(`cleanup: seeded ${(offset + count).toLocaleString('en-US')} / ${rows.toLocaleString('en-US')} outdated appointments`);
  }
  await db.query('ANALYZE appointments');
  return performance.now() - began;
}

export async function measureCleanup(
  system: System,
  bookings: Bookings,
  settings: { rows: number; connections: number },
  progress: (line: string) => void,
): Promise<Figure[]> {
  if (!system.stack) {
    return [
      {
        id: 'cleanup.seconds',
        label: 'cleanup of outdated appointments',
        value: null,
        unit: 's',
        note: 'skipped: --gateway (needs the database)',
      },
    ];
  }
  const db = new pg.Pool({ connectionString: system.stack.secrets()['appointment-service']!.databaseUrl, max: 2 });
  try {
    const seedMs = await seedOutdated(db, settings.rows, progress);
    progress(`cleanup: bookings running; POST /api/appointments/cleanup`);
    const load = startLoad(bookings.target(), settings.connections, 3_600);
    let run: { seconds: number; archived: number } | undefined;
    let answer: Promise<string> = Promise.resolve('nothing (not asked)');
    let during: LoadResult | undefined;
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const triggeredAt = new Date();
      answer = system.api('POST', '/api/appointments/cleanup').then(
        (r) => `${r.status}`,
        (error: Error) => error.message,
      );
      while (!run) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        const { rows } = await db.query<{ seconds: number; archived: number; finished: boolean }>(
          `SELECT extract(epoch FROM coalesce(finished_at, now()) - started_at)::float8 AS seconds, archived, finished_at IS NOT NULL AS finished
             FROM cleanup_runs WHERE started_at >= $1::timestamptz - interval '1 second' ORDER BY started_at LIMIT 1`,
          [triggeredAt],
        );
        if (rows[0]?.finished) run = rows[0];
        else if (Date.now() - triggeredAt.getTime() > 30 * 60_000) throw new Error('the cleanup did not finish within 30 minutes');
      }
    } finally {
      // Stopped whatever happened: a load left running would skew every later figure (and never end).
      during = await load.stop();
    }
    if (!run || !during) throw new Error('unreachable: the cleanup loop ends with a run');
    const note = `${run.archived.toLocaleString('en-US')} archived of ${settings.rows.toLocaleString('en-US')} seeded (seeding took ${(seedMs / 1000).toFixed(1)} s); gateway answered ${await answer}`;
    return [
      {
        id: 'cleanup.seconds',
        label: `cleanup of ${settings.rows.toLocaleString('en-US')} outdated appointments`,
        value: run.seconds,
        unit: 's',
        reference: { label: 'goal <', value: 60 * (settings.rows / 1_000_000) },
        note,
      },
      ...bookingFigures('cleanup.bookings', 'bookings during the cleanup', during),
    ];
  } finally {
    await db.end();
  }
}
