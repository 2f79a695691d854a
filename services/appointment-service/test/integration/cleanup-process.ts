/**
 * One cleanup run in a process of its own, for a test to kill mid-run as `kill -9` kills the app:
 *   node --import tsx cleanup-process.ts <database url> <batch size>
 * Prints the run report when the run ends.
 */
import { createPgPool } from '@caregrid/platform/postgres';
import { AppointmentRepository } from '../../src/data/appointment-repository.js';

const [url, batchSize] = process.argv.slice(2);
const pool = createPgPool(url!, { max: 2 });
try {
  const cutoff = new Date(Date.now() - 30 * 86_400_000);
  const report = await new AppointmentRepository(pool).archiveEnded(cutoff, { batchSize: Number(batchSize), minIntervalMs: 3_600_000 });
  process.stdout.write(JSON.stringify(report));
} finally {
  await pool.end();
}
