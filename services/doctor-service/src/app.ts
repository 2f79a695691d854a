import { createServiceApp, type Logger, type ReadinessCheck } from '@caregrid/platform';
import type { Pool } from '@caregrid/platform/mysql';
import { DoctorRepository } from './data/doctor-repository.js';
import { doctorRoutes } from './http/routes.js';

export type AppDependencies = {
  pool: Pool;
  logger: Logger;
  readiness?: ReadinessCheck[];
  onEventsQueued?: () => void;
  isShuttingDown?: () => boolean;
};

export function createApp(deps: AppDependencies) {
  return createServiceApp({
    service: 'doctor-service',
    logger: deps.logger,
    routers: [doctorRoutes(new DoctorRepository(deps.pool, deps.onEventsQueued))],
    readiness: deps.readiness,
    isShuttingDown: deps.isShuttingDown,
  });
}
