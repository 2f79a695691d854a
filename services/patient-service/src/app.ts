import { createServiceApp, type ServiceAppDependencies, type Sidecar } from '@caregrid/platform';
import { fhirBodyTypes, fhirErrors } from '@caregrid/fhir/http';
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
  const events = subscriptions({ patients, deadLetters: pgDeadLetterStore(deps.db), logger: deps.logger });
  return createServiceApp({
    service: 'patient-service',
    logger: deps.logger,
    tokens: deps.tokens,
    routers: [patientRoutes(patients), patientFhirRoutes(patients), events.routes],
    // A care relation that could not be recorded in time is parked, then re-driven by itself.
    deadLetters: {
      store: events.deadLetters,
      apply: events.apply,
      logger: deps.logger,
      redriveMs: deps.deadLetterRedriveMs,
    },
    readiness: deps.readiness,
    isShuttingDown: deps.isShuttingDown,
    audit: deps.audit,
    idempotency: deps.idempotency,
    outbox: deps.outbox,
    onEventsQueued: deps.onEventsQueued,
    before: [fhirBodyTypes],
    mount: (app) => app.use('/fhir', fhirErrors(deps.logger)),
  });
}
