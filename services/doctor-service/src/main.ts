import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMigrations, startService } from '@caregrid/platform';
import { mysqlDatabase } from '@caregrid/platform/mysql';
import { createApp } from './app.js';

const migrations = loadMigrations(path.join(path.dirname(fileURLToPath(import.meta.url)), 'data', 'migrations'));

await startService({ database: mysqlDatabase(migrations), createApp });
