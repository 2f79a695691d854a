import { createServiceApp, type ServiceAppDependencies, type Sidecar } from '@caregrid/platform';
import type { Pool } from '@caregrid/platform/postgres';
import { AppointmentRepository } from './data/appointment-repository.js';
import { appointmentRoutes, type CleanupSettings } from './http/routes.js';

export function createApp(deps: ServiceAppDependencies<Pool> & { sidecar: Sidecar; cleanup: CleanupSettings }) {
  return createServiceApp({
    service: 'appointment-service',
    logger: deps.logger,
    routers: [
      appointmentRoutes({
        appointments: new AppointmentRepository(deps.db, deps.onEventsQueued),
        sidecar: deps.sidecar,
        cleanup: deps.cleanup,
      }),
    ],
    readiness: deps.readiness,
    isShuttingDown: deps.isShuttingDown,
    audit: deps.audit,
    outbox: deps.outbox,
    onEventsQueued: deps.onEventsQueued,
  });
}
