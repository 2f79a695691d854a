import { createServiceApp, type ServiceAppDependencies } from '@caregrid/platform';
import type { Db } from '@caregrid/platform/mongo';
import { AnalyticsStore } from './data/analytics-store.js';
import { analyticsRoutes } from './http/routes.js';

export function createApp(deps: ServiceAppDependencies<Db>) {
  return createServiceApp({
    service: 'analytics-service',
    logger: deps.logger,
    routers: [analyticsRoutes(new AnalyticsStore(deps.db), deps.logger)],
    readiness: deps.readiness,
    isShuttingDown: deps.isShuttingDown,
  });
}
