import { z } from 'zod';
import { loadConfig, loadMigrations, startService } from '@caregrid/platform';
import { postgresDatabase } from '@caregrid/platform/postgres';
import { Accounts } from './accounts.js';
import { createApp } from './app.js';
import { secretStoreKeyRing } from './keyring.js';

const settings = loadConfig({
  // A secret store of its own for the signing keys, so a rotation can reload it without touching other secrets.
  SIGNING_KEYS_STORE: z.string().min(1).default('auth-keys'),
  SIGNING_KEYS_SECRET: z.string().min(1).default('signing-keys'),
  SIGNING_KEYS_RELOAD_MS: z.coerce.number().int().positive().default(30_000),
});
const migrations = loadMigrations(new URL('data/migrations/', import.meta.url));

await startService({
  database: postgresDatabase(migrations),
  async createApp(context) {
    const { secret, sidecar, logger, db } = context;
    const keys = await secretStoreKeyRing({
      sidecar,
      store: settings.SIGNING_KEYS_STORE,
      secretName: settings.SIGNING_KEYS_SECRET,
      logger,
      reloadMs: settings.SIGNING_KEYS_RELOAD_MS,
    });
    const accounts = new Accounts(db, keys, logger);
    await accounts.bootstrapAdmin(secret.bootstrapAdminEmail, secret.bootstrapAdminPassword);
    return createApp({ ...context, keys, accounts });
  },
});
