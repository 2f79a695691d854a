import { startService } from '@caregrid/platform';
import { mongoDatabase } from '@caregrid/platform/mongo';
import { createApp } from './app.js';
import { prepareAnalytics } from './data/analytics-store.js';

await startService({ database: mongoDatabase(prepareAnalytics), createApp });
