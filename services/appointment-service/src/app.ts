import { fhirApi } from '@caregrid/fhir/http';
import { createServiceApp, type ServiceAppDependencies, type Sidecar } from '@caregrid/platform';
import type { Pool } from '@caregrid/platform/postgres';
import { AppointmentRepository } from './data/appointment-repository.js';
import { appointmentFhirRoutes } from './http/fhir-routes.js';
import { appointmentRoutes } from './http/routes.js';
import { peersOver } from './peers.js';
import { appointmentUseCases, type BookingLimits, type CleanupSettings } from './use-cases.js';

export function createApp(deps: ServiceAppDependencies<Pool> & { sidecar: Sidecar; cleanup: CleanupSettings; booking: BookingLimits }) {
  const appointments = new AppointmentRepository(deps.db, deps.onEventsQueued);
  // Built once: the JSON and the FHIR routes answer under the same rules.
  const useCases = appointmentUseCases({ appointments, peers: peersOver(deps.sidecar), limits: deps.booking, cleanup: deps.cleanup });
  return createServiceApp({
    service: 'appointment-service',
    deps,
    json: appointmentRoutes(useCases),
    fhir: fhirApi(appointmentFhirRoutes(useCases)),
  });
}
