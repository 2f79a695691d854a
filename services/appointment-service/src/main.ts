import { z } from 'zod';
import { loadConfig, loadMigrations, startService } from '@caregrid/platform';
import { postgresDatabase } from '@caregrid/platform/postgres';
import { createApp } from './app.js';

const settings = loadConfig({
  // Appointments that ended longer ago than this are archived by the cleanup.
  RETENTION_DAYS: z.coerce.number().int().positive().default(730),
  // Rows archived per transaction. 5,000: the archive statement alone moved 1,000,000 rows in 7 s
  // (10,000: 6 s with locks twice as long; bench/cleanup-sql.ts); bookings never touch the outdated rows it locks.
  CLEANUP_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(5_000),
  // Replicas each fire the cron binding; a run within this window means "already done".
  CLEANUP_MIN_INTERVAL_SECONDS: z.coerce.number().int().positive().default(3_600),
  // No appointment starts further ahead than this (book and move): a patient cannot block a doctor's years.
  BOOKING_HORIZON_DAYS: z.coerce.number().int().positive().default(180),
  // A patient's open future bookings (status booked); one more is refused.
  MAX_OPEN_BOOKINGS_PER_PATIENT: z.coerce.number().int().positive().default(10),
});
const migrations = loadMigrations(new URL('data/migrations/', import.meta.url));

await startService({
  database: postgresDatabase(migrations),
  createApp: (context) =>
    createApp({
      ...context,
      cleanup: {
        retentionDays: settings.RETENTION_DAYS,
        batchSize: settings.CLEANUP_BATCH_SIZE,
        minIntervalMs: settings.CLEANUP_MIN_INTERVAL_SECONDS * 1000,
      },
      booking: { horizonDays: settings.BOOKING_HORIZON_DAYS, maxOpenPerPatient: settings.MAX_OPEN_BOOKINGS_PER_PATIENT },
    }),
});
