import { createServiceApp, TokenVerifier, type ServiceAppDependencies } from '@caregrid/platform';
import type { Pool } from '@caregrid/platform/postgres';
import { AccountMail, type AccountMailSettings } from './account-mail.js';
import { Accounts, type KeyRing } from './accounts.js';
import { DEFAULT_LIFETIME_SECONDS } from './domain/account-mail.js';
import { authRoutes } from './http/routes.js';

export const DEFAULT_ACCOUNT_MAIL_SETTINGS: AccountMailSettings = {
  lifetimes: DEFAULT_LIFETIME_SECONDS,
  clinicAppUrl: 'http://127.0.0.1:4004/app',
  cooldownSeconds: 60,
};

export function createApp(
  deps: ServiceAppDependencies<Pool> & { keys: KeyRing; accounts?: Accounts; mail?: AccountMail; mailSettings?: AccountMailSettings },
) {
  const mail = deps.mail ?? new AccountMail(deps.db, deps.mailSettings ?? DEFAULT_ACCOUNT_MAIL_SETTINGS, deps.onEventsQueued, deps.logger);
  const accounts = deps.accounts ?? new Accounts(deps.db, deps.keys, mail, deps.logger);
  return createServiceApp({
    service: 'auth-service',
    logger: deps.logger,
    routers: [authRoutes(accounts, deps.keys, mail)],
    // The signer verifies against its own key ring (what it publishes), not through its sidecar.
    tokens: new TokenVerifier(async () => ({ keys: deps.keys.all().map((key) => key.publicJwk) }), {
      maxAgeMs: 30_000,
      refetchCooldownMs: 0,
    }),
    readiness: deps.readiness,
    isShuttingDown: deps.isShuttingDown,
    outbox: deps.outbox,
    onEventsQueued: deps.onEventsQueued,
  });
}
