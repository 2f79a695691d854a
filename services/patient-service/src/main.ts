import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMigrations, startService } from '@caregrid/platform';
import { postgresDatabase } from '@caregrid/platform/postgres';
import { createApp } from './app.js';

const migrations = loadMigrations(path.join(path.dirname(fileURLToPath(import.meta.url)), 'data', 'migrations'));

await startService({ database: postgresDatabase(migrations), createApp });
