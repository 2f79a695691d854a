import { fhirApi } from '@caregrid/fhir/http';
import { createServiceApp, type ServiceAppDependencies } from '@caregrid/platform';
import type { Pool } from '@caregrid/platform/mysql';
import { DoctorRepository } from './data/doctor-repository.js';
import { doctorFhirRoutes } from './http/fhir-routes.js';
import { doctorRoutes } from './http/routes.js';
import { doctorUseCases } from './use-cases.js';

export function createApp(deps: ServiceAppDependencies<Pool>) {
  const doctors = doctorUseCases(new DoctorRepository(deps.db, deps.onEventsQueued));
  return createServiceApp({ service: 'doctor-service', deps, json: doctorRoutes(doctors), fhir: fhirApi(doctorFhirRoutes(doctors)) });
}
