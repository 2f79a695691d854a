import { z } from 'zod';
import { loadConfig, loadMigrations, startService } from '@caregrid/platform';
import { postgresDatabase } from '@caregrid/platform/postgres';
import { createApp } from './app.js';
import { parseDuration } from './domain/notice.js';

/** A duration setting (`24h`, `90m`, `45s`) in milliseconds. */
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((text) => parseDuration(text) !== undefined, 'a duration such as 24h, 90m or 45s')
    .transform((text) => parseDuration(text)!);

const settings = loadConfig({
  CLINIC_NAME: z.string().min(1).default('CareGrid Clinic'),
  // Where patients open the clinic app (the receipt links to its invoices): the public address of the
  // gateway, set by each deployment (dapr.yaml, Compose, the k8s overlays). Unset: receipts name the screen, no link.
  CLINIC_APP_URL: z.url().optional(),
  // The time zone mail states appointment times in.
  CLINIC_TIME_ZONE: z.string().min(1).default('UTC'),
  // How long before an appointment its reminder goes out; none when it is booked or moved closer than this.
  REMINDER_LEAD: duration('24h'),
  // A reminder job the app did not take (it was down, or answered an error) is delivered again this often,
  // this many times (default: 10 s apart for 10 minutes, through a pod's restart); the daily sweep is the last resort.
  REMINDER_JOB_RETRY_INTERVAL: duration('10s'),
  REMINDER_JOB_MAX_RETRIES: z.coerce.number().int().min(0).max(10_000).default(60),
  MAIL_BINDING: z.string().min(1).default('mail'),
  // A mail the server refuses for now (SMTP 4xx) or that cannot reach it is tried this often in all, with
  // backoff from MAIL_RETRY_FIRST_DELAY up to MAIL_RETRY_MAX_DELAY, then recorded `failed` (an admin re-sends it).
  MAIL_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  MAIL_RETRY_FIRST_DELAY: duration('30s'),
  MAIL_RETRY_MAX_DELAY: duration('30m'),
  // How long a sender holds notices it claimed (a dead sender's wait this long for another).
  MAIL_CLAIM_MS: z.coerce.number().int().min(1_000).default(60_000),
  MAIL_POLL_MS: z.coerce.number().int().min(100).default(1_000),
});
const migrations = loadMigrations(new URL('data/migrations/', import.meta.url));

await startService({
  database: postgresDatabase(migrations, { deadLetters: true }),
  createApp: (context) =>
    createApp({
      ...context,
      settings: {
        clinic: { name: settings.CLINIC_NAME, appUrl: settings.CLINIC_APP_URL, timeZone: settings.CLINIC_TIME_ZONE },
        reminders: { leadMs: settings.REMINDER_LEAD },
        reminderJobRetry: { intervalMs: settings.REMINDER_JOB_RETRY_INTERVAL, maxRetries: settings.REMINDER_JOB_MAX_RETRIES },
        sender: {
          maxAttempts: settings.MAIL_MAX_ATTEMPTS,
          firstDelayMs: settings.MAIL_RETRY_FIRST_DELAY,
          maxDelayMs: settings.MAIL_RETRY_MAX_DELAY,
          claimMs: settings.MAIL_CLAIM_MS,
          idleIntervalMs: settings.MAIL_POLL_MS,
          batchSize: 20,
        },
        mailBinding: settings.MAIL_BINDING,
      },
    }),
});
