import { createServiceApp, type ServiceAppDependencies, type Sidecar } from '@caregrid/platform';
import type { Pool } from '@caregrid/platform/postgres';
import { PatientRepository } from './data/patient-repository.js';
import { subscriptionRoutes } from './events/subscriptions.js';
import { patientRoutes } from './http/routes.js';
import { fetchAuditEntries } from './peers.js';

export function createApp(deps: ServiceAppDependencies<Pool> & { sidecar: Sidecar }) {
  const patients = new PatientRepository(deps.db, deps.onEventsQueued);
  return createServiceApp({
    service: 'patient-service',
    logger: deps.logger,
    routers: [
      patientRoutes(patients, (patientId, page) => fetchAuditEntries(deps.sidecar, patientId, page)),
      subscriptionRoutes({ patients, logger: deps.logger }),
    ],
    readiness: deps.readiness,
    isShuttingDown: deps.isShuttingDown,
    audit: deps.audit,
    outbox: deps.outbox,
    onEventsQueued: deps.onEventsQueued,
  });
}
