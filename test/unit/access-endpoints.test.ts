/**
 * The access model's endpoint table and the services' routers describe the
 * same routes: a route the table does not know fails at start (ApiRouter), and
 * this test fails for a table entry no service serves (a stale rule the
 * gateway would still admit).
 */
import { backlogRoutes, deadLetterRoutes, ENDPOINTS, outboxOpsRoutes, type ApiRouter } from '@caregrid/platform';
import { auditRoutes } from '../../services/analytics-service/src/http/audit-routes.js';
import { subscriptions as analyticsSubscriptions } from '../../services/analytics-service/src/events/subscriptions.js';
import { analyticsRoutes } from '../../services/analytics-service/src/http/routes.js';
import { appointmentFhirRoutes } from '../../services/appointment-service/src/http/fhir-routes.js';
import { appointmentRoutes } from '../../services/appointment-service/src/http/routes.js';
import { authRoutes } from '../../services/auth-service/src/http/routes.js';
import { subscriptions as billingSubscriptions } from '../../services/billing-service/src/events/subscriptions.js';
import { invoiceFhirRoutes } from '../../services/billing-service/src/http/fhir-routes.js';
import { invoiceRoutes } from '../../services/billing-service/src/http/routes.js';
import { subscriptions as notificationSubscriptions } from '../../services/notification-service/src/events/subscriptions.js';
import { notificationFhirRoutes } from '../../services/notification-service/src/http/fhir-routes.js';
import { jobRoutes } from '../../services/notification-service/src/http/job-routes.js';
import { notificationRoutes } from '../../services/notification-service/src/http/routes.js';
import { doctorFhirRoutes } from '../../services/doctor-service/src/http/fhir-routes.js';
import { doctorRoutes } from '../../services/doctor-service/src/http/routes.js';
import { subscriptions as patientSubscriptions } from '../../services/patient-service/src/events/subscriptions.js';
import { patientFhirRoutes } from '../../services/patient-service/src/http/fhir-routes.js';
import { patientRoutes } from '../../services/patient-service/src/http/routes.js';

// Routers are only declared here, never called: their dependencies are not needed.
const unused = {} as never;

const routersByApp: Record<string, ApiRouter[]> = {
  'auth-service': [authRoutes(unused)],
  'patient-service': [
    patientRoutes(unused),
    patientFhirRoutes(unused),
    patientSubscriptions({ patients: unused, deadLetters: unused, logger: unused }).routes,
  ],
  'doctor-service': [doctorRoutes(unused), doctorFhirRoutes(unused)],
  'appointment-service': [appointmentRoutes(unused), appointmentFhirRoutes(unused)],
  'billing-service': [
    invoiceRoutes(unused),
    invoiceFhirRoutes(unused),
    billingSubscriptions({ billing: unused, deadLetters: unused, logger: unused }).routes,
  ],
  'notification-service': [
    notificationRoutes(unused),
    notificationFhirRoutes(unused),
    jobRoutes({ notifications: unused, logger: unused }),
    notificationSubscriptions({ notifications: unused, deadLetters: unused, logger: unused }).routes,
  ],
  'analytics-service': [
    analyticsRoutes(unused),
    analyticsSubscriptions({ analytics: unused, deadLetters: unused, logger: unused }).routes,
    auditRoutes(unused),
  ],
};
// createServiceApp adds the platform's operations routes: parked outbox events where the database
// has an outbox, dead letters where the service subscribes, and the backlog of either.
const withOutbox = ['auth-service', 'patient-service', 'doctor-service', 'appointment-service', 'billing-service', 'notification-service'];
const withDeadLetters = ['patient-service', 'billing-service', 'notification-service', 'analytics-service'];
for (const app of withOutbox) routersByApp[app]!.push(outboxOpsRoutes(app, unused));
for (const app of withDeadLetters) routersByApp[app]!.push(deadLetterRoutes(app, unused));
for (const app of new Set([...withOutbox, ...withDeadLetters])) routersByApp[app]!.push(backlogRoutes(app, unused));

describe('access model endpoints = service routes', () => {
  it.each(Object.keys(ENDPOINTS))('%s serves exactly the routes of its endpoint table', (app) => {
    const served = routersByApp[app]!.flatMap((router) => router.routes.map((route) => `${route.method.toUpperCase()} ${route.path}`));
    expect(served.sort()).toEqual(Object.keys(ENDPOINTS[app]!).sort());
  });

  it('covers every service that has routes', () => {
    expect(Object.keys(routersByApp).sort()).toEqual(Object.keys(ENDPOINTS).sort());
  });
});
