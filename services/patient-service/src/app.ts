import { createServiceApp, type ServiceAppDependencies } from '@caregrid/platform';
import type { Pool } from '@caregrid/platform/postgres';
import { PatientRepository } from './data/patient-repository.js';
import { patientRoutes } from './http/routes.js';

export function createApp(deps: ServiceAppDependencies<Pool>) {
  return createServiceApp({
    service: 'patient-service',
    logger: deps.logger,
    routers: [patientRoutes(new PatientRepository(deps.db, deps.onEventsQueued))],
    readiness: deps.readiness,
    isShuttingDown: deps.isShuttingDown,
  });
}
