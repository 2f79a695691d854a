import { createServiceApp, deadLetterRoutes, type ServiceAppDependencies } from '@caregrid/platform';
import { mongoDeadLetterStore, type Db } from '@caregrid/platform/mongo';
import { AnalyticsStore } from './data/analytics-store.js';
import { analyticsRoutes, eventRecorder } from './http/routes.js';

export function createApp(deps: ServiceAppDependencies<Db>) {
  const store = new AnalyticsStore(deps.db);
  const recordEvent = eventRecorder(store, deps.logger);
  return createServiceApp({
    service: 'analytics-service',
    logger: deps.logger,
    routers: [
      analyticsRoutes(store, recordEvent),
      // Every subscribed topic goes to the same handler: a re-drive needs no dispatch.
      deadLetterRoutes('analytics-service', { store: mongoDeadLetterStore(deps.db), handle: recordEvent, logger: deps.logger }),
    ],
    readiness: deps.readiness,
    isShuttingDown: deps.isShuttingDown,
  });
}
