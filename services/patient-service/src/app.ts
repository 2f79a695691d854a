import { createServiceApp, type ServiceAppDependencies, type Sidecar } from '@caregrid/platform';
import { fhirApi } from '@caregrid/fhir/http';
import { pgDeadLetterStore, type Pool } from '@caregrid/platform/postgres';
import { PatientRepository } from './data/patient-repository.js';
import { subscriptions } from './events/subscriptions.js';
import { patientFhirRoutes } from './http/fhir-routes.js';
import { patientRoutes } from './http/routes.js';
import { fetchAuditEntries } from './peers.js';
import { patientUseCases } from './use-cases.js';

export function createApp(deps: ServiceAppDependencies<Pool> & { sidecar: Sidecar }) {
  const patients = patientUseCases({
    patients: new PatientRepository(deps.db, deps.onEventsQueued),
    auditTrail: (patientId, page) => fetchAuditEntries(deps.sidecar, patientId, page),
  });
  return createServiceApp({
    service: 'patient-service',
    deps,
    json: patientRoutes(patients),
    fhir: fhirApi(patientFhirRoutes(patients)),
    subscriptions: subscriptions({ patients, deadLetters: pgDeadLetterStore(deps.db), logger: deps.logger }),
  });
}
