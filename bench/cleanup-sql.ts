/**
 * appointment-service's archive statement alone (the one archiveEnded runs per batch), without the
 * service or concurrent bookings: a stack of appointment-service for its migrated database, N
 * outdated rows seeded as bench/cleanup.ts does, then the statement in a loop, per batch size.
 *
 *   node --import tsx bench/cleanup-sql.ts [rows=100000] [batch sizes=500,5000] [variants=skip-locked,plain,ctid,procedure] [rounds=1]
 *
 * Variants of the statement: `skip-locked` (row locks taken by the SELECT, then the DELETE),
 * `plain` (the DELETE's own locks only), `ctid` (the batch picked by physical row address);
 * `procedure`: the service's own archive_ended_appointments, every batch in one CALL.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { startTestStack } from '@caregrid/devkit';
import { seedOutdated } from './cleanup.js';
const rows = Number(process.argv[2] ?? 100000);
const stack = await startTestStack({ apps: ['appointment-service'] });
const db = new pg.Pool({ connectionString: stack.secrets()['appointment-service']!.databaseUrl, max: 2 });
const archive = (pick: string) =>
  `WITH moved AS (DELETE FROM appointments WHERE ${pick} RETURNING *) INSERT INTO appointments_archive SELECT moved.*, now() FROM moved`;
const statements: Record<string, string> = {
  'skip-locked': archive('id IN (SELECT id FROM appointments WHERE end_at < $1 ORDER BY end_at LIMIT $2 FOR UPDATE SKIP LOCKED)'),
  plain: archive('id IN (SELECT id FROM appointments WHERE end_at < $1 ORDER BY end_at LIMIT $2)'),
  ctid: archive('ctid = ANY (ARRAY(SELECT ctid FROM appointments WHERE end_at < $1 ORDER BY end_at LIMIT $2))'),
};
try {
  for (let round = 0; round < Number(process.argv[5] ?? 1); round++)
    for (const batch of (process.argv[3] ?? '500,5000').split(',').map(Number))
      for (const variant of (process.argv[4] ?? 'skip-locked,plain,ctid,procedure').split(',')) {
        const stmt = statements[variant] ?? '';
        await db.query('TRUNCATE appointments_archive, appointments');
        await seedOutdated(db, rows, () => {});
        const cutoff = new Date(Date.now() - 730 * 86_400_000);
        const t0 = performance.now();
        let total = 0,
          n = 0;
        const first: number[] = [];
        for (;;) {
          const b0 = performance.now();
          if (variant === 'procedure') {
            // A run id with no ledger row: the procedure's per-batch count updates nothing.
            const { rows } = await db.query<{ archived: string }>('CALL archive_ended_appointments($1, $2, $3)', [
              randomUUID(),
              cutoff,
              batch,
            ]);
            [total, n] = [Number(rows[0]!.archived), 1];
            break;
          }
          const { rowCount } = await db.query(stmt, [cutoff, batch]);
          if (n < 3 || n % 50 === 0) first.push(Math.round(performance.now() - b0));
          n++;
          total += rowCount ?? 0;
          if ((rowCount ?? 0) < batch) break;
        }
        console.log(
          `${variant}, batch ${batch}: ${total} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s (${n} batches; batch ms samples ${first.join(',')})`,
        );
      }
} finally {
  await db.end();
  await stack.stop();
}
