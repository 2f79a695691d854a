import { z } from 'zod';
import { loadConfig, startService } from '@caregrid/platform';
import { mongoDatabase } from '@caregrid/platform/mongo';
import { createApp, DEFAULT_AUDIT_RETENTION_DAYS } from './app.js';
import { prepareAnalytics } from './data/analytics-store.js';
import { prepareAuditTrail } from './data/audit-store.js';

const settings = loadConfig({
  // How long audit entries are kept before the daily audit-retention run removes them.
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).default(DEFAULT_AUDIT_RETENTION_DAYS),
});

await startService({
  database: mongoDatabase(async (db) => {
    await prepareAnalytics(db);
    await prepareAuditTrail(db);
  }),
  createApp: (context) => createApp({ ...context, auditTrail: { retentionDays: settings.AUDIT_RETENTION_DAYS } }),
});
