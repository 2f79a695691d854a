import { z } from 'zod';
import { loadConfig, startService } from '@caregrid/platform';
import { createApp, DEFAULT_AUDIT_RETENTION_DAYS } from './app.js';
import { openAnalyticsStores } from './data/stores.js';

const settings = loadConfig({
  // How long audit entries are kept before the daily audit-retention run removes them.
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).default(DEFAULT_AUDIT_RETENTION_DAYS),
});

await startService({
  database: openAnalyticsStores,
  createApp: (context) => createApp({ ...context, auditTrail: { retentionDays: settings.AUDIT_RETENTION_DAYS } }),
});
