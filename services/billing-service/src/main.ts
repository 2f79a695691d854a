import { z } from 'zod';
import { loadConfig, loadMigrations, startService } from '@caregrid/platform';
import { postgresDatabase } from '@caregrid/platform/postgres';
import { createApp } from './app.js';

const settings = loadConfig({
  CLINIC_NAME: z.string().min(1).default('CareGrid Clinic'),
  CLINIC_ADDRESS: z.string().default('1 Health Street, Springfield'),
  // Basis points: 0 (medical services are commonly tax-exempt) … 10000.
  TAX_RATE_BPS: z.coerce.number().int().min(0).max(10_000).default(0),
  PAYMENT_TERM_DAYS: z.coerce.number().int().min(0).max(365).default(14),
  INVOICE_STORAGE_BINDING: z.string().min(1).default('invoice-storage'),
});
const migrations = loadMigrations(new URL('data/migrations/', import.meta.url));

await startService({
  database: postgresDatabase(migrations, { deadLetters: true }),
  createApp: (context) =>
    createApp({
      ...context,
      settings: {
        clinic: { name: settings.CLINIC_NAME, address: settings.CLINIC_ADDRESS },
        taxRateBasisPoints: settings.TAX_RATE_BPS,
        paymentTermDays: settings.PAYMENT_TERM_DAYS,
        pdfBinding: settings.INVOICE_STORAGE_BINDING,
      },
    }),
});
