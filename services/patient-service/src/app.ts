import { createServiceApp, type ReadinessCheck } from '@caregrid/platform';
import type { Logger } from '@caregrid/platform';
import type { Pool } from '@caregrid/platform/postgres';
import { PatientRepository } from './data/patient-repository.js';
import { patientRoutes } from './http/routes.js';

export type AppDependencies = {
  pool: Pool;
  logger: Logger;
  readiness?: ReadinessCheck[];
  onEventsQueued?: () => void;
  isShuttingDown?: () => boolean;
};

export function createApp(deps: AppDependencies) {
  return createServiceApp({
    service: 'patient-service',
    logger: deps.logger,
    routers: [patientRoutes(new PatientRepository(deps.pool, deps.onEventsQueued))],
    readiness: deps.readiness,
    isShuttingDown: deps.isShuttingDown,
  });
}
