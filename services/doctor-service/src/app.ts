import { createServiceApp, type ServiceAppDependencies } from '@caregrid/platform';
import type { Pool } from '@caregrid/platform/mysql';
import { DoctorRepository } from './data/doctor-repository.js';
import { doctorRoutes } from './http/routes.js';

export function createApp(deps: ServiceAppDependencies<Pool>) {
  return createServiceApp({
    service: 'doctor-service',
    logger: deps.logger,
    routers: [doctorRoutes(new DoctorRepository(deps.db, deps.onEventsQueued))],
    readiness: deps.readiness,
    isShuttingDown: deps.isShuttingDown,
    outbox: deps.outbox,
    onEventsQueued: deps.onEventsQueued,
  });
}
