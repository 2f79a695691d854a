/**
 * appointment-service's archive statement alone (the one archiveEnded runs per batch), without the
 * service or concurrent bookings: a stack of appointment-service for its migrated database, N
 * outdated rows seeded as bench/cleanup.ts does, then the statement in a loop, per batch size.
 *
 *   node --import tsx bench/cleanup-sql.ts [rows=100000] [batch sizes=500,5000]
 */
import pg from 'pg';
import { startTestStack } from '@caregrid/devkit';
import { seedOutdated } from './cleanup.js';
const rows = Number(process.argv[2] ?? 100000);
const stack = await startTestStack({ apps: ['appointment-service'] });
const db = new pg.Pool({ connectionString: stack.secrets()['appointment-service']!.databaseUrl, max: 2 });
const stmt = `WITH moved AS (
         DELETE FROM appointments WHERE id IN (
           SELECT id FROM appointments WHERE end_at < $1 ORDER BY end_at LIMIT $2 FOR UPDATE SKIP LOCKED
         ) RETURNING *
       )
       INSERT INTO appointments_archive SELECT moved.*, now() FROM moved`;
try {
  for (const batch of (process.argv[3] ?? '500,5000').split(',').map(Number)) {
    await db.query('TRUNCATE appointments_archive');
    await seedOutdated(db, rows, () => {});
    const cutoff = new Date(Date.now() - 730 * 86_400_000);
    const t0 = performance.now();
    let total = 0,
      n = 0;
    const first: number[] = [];
    for (;;) {
      const b0 = performance.now();
      const { rowCount } = await db.query(stmt, [cutoff, batch]);
      if (n < 3 || n % 50 === 0) first.push(Math.round(performance.now() - b0));
      n++;
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < batch) break;
    }
    console.log(
      `batch ${batch}: ${total} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s (${n} batches; batch ms samples ${first.join(',')})`,
    );
  }
} finally {
  await db.end();
  await stack.stop();
}
