import { createServiceApp, trailAuditSink, type ServiceAppDependencies } from '@caregrid/platform';
import { mongoDeadLetterStore } from '@caregrid/platform/mongo';
import { AnalyticsStore } from './data/analytics-store.js';
import { AuditStore } from './data/audit-store.js';
import type { AnalyticsStores } from './data/stores.js';
import { auditRoutes } from './http/audit-routes.js';
import { subscriptions } from './events/subscriptions.js';
import { analyticsRoutes } from './http/routes.js';
import { analyticsUseCases, type AuditSettings } from './use-cases.js';

/** Six years: HIPAA keeps documentation of access that long; days would not do. */
export const DEFAULT_AUDIT_RETENTION_DAYS = 2_190;

export function createApp(deps: ServiceAppDependencies<AnalyticsStores> & { auditTrail?: AuditSettings }) {
  const analytics = analyticsUseCases({
    store: new AnalyticsStore(deps.db.db),
    audit: new AuditStore(deps.db.trail),
    auditTrail: deps.auditTrail ?? { retentionDays: DEFAULT_AUDIT_RETENTION_DAYS },
    logger: deps.logger,
  });
  return createServiceApp({
    service: 'analytics-service',
    // Reads of the trail are audited too; their entries go into the trail itself.
    deps: { ...deps, audit: trailAuditSink((entries) => analytics.recordOwnAccess(entries)) },
    json: [analyticsRoutes(analytics), auditRoutes(analytics)],
    subscriptions: subscriptions({ analytics, deadLetters: mongoDeadLetterStore(deps.db.db), logger: deps.logger }),
  });
}
