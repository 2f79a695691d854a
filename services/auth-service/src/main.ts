import { z } from 'zod';
import { loadConfig, loadMigrations, startService } from '@caregrid/platform';
import { postgresDatabase } from '@caregrid/platform/postgres';
import { createApp, postgresAccountUseCases } from './app.js';
import { REGISTRATION_POLICY } from './domain/throttle.js';
import type { AccountMailSettings } from './events/account-mail.js';
import { secretStoreKeyRing } from './keyring.js';
import { recoverAdminCommand } from './recover-admin.js';

const settings = loadConfig({
  // A secret store of its own for the signing keys, so a rotation can reload it without touching other secrets.
  SIGNING_KEYS_STORE: z.string().min(1).default('auth-keys'),
  SIGNING_KEYS_SECRET: z.string().min(1).default('signing-keys'),
  SIGNING_KEYS_RELOAD_MS: z.coerce.number().int().positive().default(30_000),
  // Account mail: where its links point, how long they work, how often one account may ask.
  CLINIC_APP_URL: z.url().default('http://127.0.0.1:4004/app'),
  VERIFY_EMAIL_LINK_SECONDS: z.coerce
    .number()
    .int()
    .positive()
    .default(48 * 3600),
  PASSWORD_RESET_LINK_SECONDS: z.coerce.number().int().positive().default(3600),
  INVITE_LINK_SECONDS: z.coerce
    .number()
    .int()
    .positive()
    .default(7 * 24 * 3600),
  ACCOUNT_MAIL_COOLDOWN_SECONDS: z.coerce.number().int().nonnegative().default(60),
  // Sign-ups per client address (a token bucket): each one runs argon2id at 19 MiB.
  REGISTRATION_BURST: z.coerce.number().int().positive().default(REGISTRATION_POLICY.capacity),
  REGISTRATION_REFILL_SECONDS: z.coerce
    .number()
    .positive()
    .default(REGISTRATION_POLICY.refillMs / 1000),
});
const migrations = loadMigrations(new URL('data/migrations/', import.meta.url));
const mailSettings: AccountMailSettings = {
  clinicAppUrl: settings.CLINIC_APP_URL,
  lifetimes: {
    'verify-email': settings.VERIFY_EMAIL_LINK_SECONDS,
    'reset-password': settings.PASSWORD_RESET_LINK_SECONDS,
    invite: settings.INVITE_LINK_SECONDS,
  },
  cooldownSeconds: settings.ACCOUNT_MAIL_COOLDOWN_SECONDS,
};

if (process.argv[2] === 'recover-admin') {
  // The operator's command (README: "No admin left"), run in the service's environment beside its sidecar.
  process.exit(await recoverAdminCommand(process.argv.slice(3), settings, mailSettings));
}

await startService({
  database: postgresDatabase(migrations),
  async createApp(context) {
    const { secret, sidecar, logger, db, onEventsQueued } = context;
    const keys = await secretStoreKeyRing({
      sidecar,
      store: settings.SIGNING_KEYS_STORE,
      secretName: settings.SIGNING_KEYS_SECRET,
      logger,
      reloadMs: settings.SIGNING_KEYS_RELOAD_MS,
    });
    const accounts = postgresAccountUseCases({
      db,
      keys,
      mailSettings,
      onEventsQueued,
      logger,
      registrationLimit: { capacity: settings.REGISTRATION_BURST, refillMs: settings.REGISTRATION_REFILL_SECONDS * 1000 },
    });
    await accounts.bootstrapAdmin(secret.bootstrapAdminEmail, secret.bootstrapAdminPassword);
    return createApp({ ...context, keys, accounts });
  },
});
