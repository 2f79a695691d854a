import { createServiceApp, type ServiceAppDependencies } from '@caregrid/platform';
import type { Db } from '@caregrid/platform/mongo';
import { AnalyticsStore } from './data/analytics-store.js';
import { AuditStore } from './data/audit-store.js';
import { auditRoutes } from './http/audit-routes.js';
import { analyticsRoutes } from './http/routes.js';

export type AuditSettings = { retentionDays: number };

export function createApp(deps: ServiceAppDependencies<Db> & { auditTrail?: AuditSettings }) {
  return createServiceApp({
    service: 'analytics-service',
    logger: deps.logger,
    routers: [
      analyticsRoutes(new AnalyticsStore(deps.db), deps.logger),
      auditRoutes(new AuditStore(deps.db), deps.auditTrail ?? { retentionDays: DEFAULT_AUDIT_RETENTION_DAYS }, deps.logger),
    ],
    readiness: deps.readiness,
    isShuttingDown: deps.isShuttingDown,
  });
}

/** Six years: HIPAA keeps documentation of access that long; days would not do. */
export const DEFAULT_AUDIT_RETENTION_DAYS = 2_190;
