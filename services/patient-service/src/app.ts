import { createServiceApp, type ServiceAppDependencies } from '@caregrid/platform';
import type { Pool } from '@caregrid/platform/postgres';
import { PatientRepository } from './data/patient-repository.js';
import { subscriptionRoutes } from './events/subscriptions.js';
import { patientRoutes } from './http/routes.js';

export function createApp(deps: ServiceAppDependencies<Pool>) {
  const patients = new PatientRepository(deps.db, deps.onEventsQueued);
  return createServiceApp({
    service: 'patient-service',
    logger: deps.logger,
    routers: [patientRoutes(patients), subscriptionRoutes({ patients, logger: deps.logger })],
    readiness: deps.readiness,
    isShuttingDown: deps.isShuttingDown,
    outbox: deps.outbox,
    onEventsQueued: deps.onEventsQueued,
  });
}
