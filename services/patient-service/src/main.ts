import { loadMigrations, startService } from '@caregrid/platform';
import { postgresDatabase } from '@caregrid/platform/postgres';
import { createApp } from './app.js';

const migrations = loadMigrations(new URL('data/migrations/', import.meta.url));

await startService({ database: postgresDatabase(migrations, { deadLetters: true }), createApp });
