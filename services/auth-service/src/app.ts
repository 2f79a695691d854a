import { createServiceApp, TokenVerifier, type Logger, type ServiceAppDependencies } from '@caregrid/platform';
import { inTransaction, type Pool } from '@caregrid/platform/postgres';
import { MailRequests } from './data/mail-requests.js';
import { RefreshTokens } from './data/refresh-tokens.js';
import { ThrottleStore } from './data/throttle-store.js';
import { TrustedDevices } from './data/trusted-devices.js';
import { UsersRepository } from './data/users-repository.js';
import { DEFAULT_LIFETIME_SECONDS } from './domain/account-mail.js';
import type { BucketPolicy } from './domain/throttle.js';
import { AccountMailOutbox, type AccountMailSettings } from './events/account-mail.js';
import { authRoutes } from './http/routes.js';
import { accountUseCases, type AccountUseCases, type KeyRing } from './use-cases.js';

export const DEFAULT_ACCOUNT_MAIL_SETTINGS: AccountMailSettings = {
  lifetimes: DEFAULT_LIFETIME_SECONDS,
  clinicAppUrl: 'http://127.0.0.1:4004/app',
  cooldownSeconds: 60,
};

/** The account use cases over PostgreSQL: built once by the service (main.ts) and by the recovery command. */
export function postgresAccountUseCases(deps: {
  db: Pool;
  keys: KeyRing;
  mailSettings: AccountMailSettings;
  onEventsQueued?: () => void;
  logger?: Logger;
  registrationLimit?: BucketPolicy;
}): AccountUseCases {
  const { db, ...rest } = deps;
  return accountUseCases({
    ...rest,
    db: { pool: db, transaction: (fn) => inTransaction(db, fn) },
    users: new UsersRepository(db),
    refreshTokens: new RefreshTokens(db),
    throttle: new ThrottleStore(db),
    devices: new TrustedDevices(db),
    mailRequests: new MailRequests(),
    mail: new AccountMailOutbox(db, deps.mailSettings, deps.onEventsQueued),
  });
}

export function createApp(
  deps: ServiceAppDependencies<Pool> & { keys: KeyRing; accounts?: AccountUseCases; mailSettings?: AccountMailSettings },
) {
  const accounts =
    deps.accounts ??
    postgresAccountUseCases({
      db: deps.db,
      keys: deps.keys,
      mailSettings: deps.mailSettings ?? DEFAULT_ACCOUNT_MAIL_SETTINGS,
      onEventsQueued: deps.onEventsQueued,
      logger: deps.logger,
    });
  return createServiceApp({
    service: 'auth-service',
    // The signer verifies against its own key ring (what it publishes), not through its sidecar.
    deps: {
      ...deps,
      tokens: new TokenVerifier(async () => ({ keys: deps.keys.all().map((key) => key.publicJwk) }), {
        maxAgeMs: 30_000,
        refetchCooldownMs: 0,
      }),
    },
    json: authRoutes(accounts),
  });
}
