import { loadMigrations, startService } from '@caregrid/platform';
import { mysqlDatabase } from '@caregrid/platform/mysql';
import { createApp } from './app.js';

const migrations = loadMigrations(new URL('data/migrations/', import.meta.url));

await startService({ database: mysqlDatabase(migrations), createApp });
