import { createServiceApp, type ServiceAppDependencies } from '@caregrid/platform';
import type { Pool } from '@caregrid/platform/postgres';
import { Accounts, type KeyRing } from './accounts.js';
import { authRoutes } from './http/routes.js';

export function createApp(deps: ServiceAppDependencies<Pool> & { keys: KeyRing; accounts?: Accounts }) {
  const accounts = deps.accounts ?? new Accounts(deps.db, deps.keys, deps.logger);
  return createServiceApp({
    service: 'auth-service',
    logger: deps.logger,
    routers: [authRoutes(accounts, deps.keys)],
    readiness: deps.readiness,
    isShuttingDown: deps.isShuttingDown,
    outbox: deps.outbox,
    onEventsQueued: deps.onEventsQueued,
  });
}
