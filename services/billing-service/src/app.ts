import { createServiceApp, type ServiceAppDependencies, type Sidecar } from '@caregrid/platform';
import { fhirBodyTypes, fhirErrors } from '@caregrid/fhir/http';
import { pgDeadLetterStore, type Pool } from '@caregrid/platform/postgres';
import { InvoiceRepository } from './data/invoice-repository.js';
import { PdfStore } from './data/pdf-store.js';
import { subscriptions } from './events/subscriptions.js';
import { invoiceFhirRoutes } from './http/fhir-routes.js';
import { invoiceRoutes } from './http/routes.js';
import { billingUseCases, type BillingSettings } from './use-cases.js';

export function createApp(
  deps: ServiceAppDependencies<Pool> & {
    sidecar: Sidecar;
    settings: BillingSettings & { pdfBinding: string };
  },
) {
  const billing = billingUseCases({
    invoices: new InvoiceRepository(deps.db, deps.onEventsQueued),
    pdfs: new PdfStore(deps.sidecar, deps.settings.pdfBinding),
    settings: deps.settings,
    logger: deps.logger,
  });
  const events = subscriptions({ billing, deadLetters: pgDeadLetterStore(deps.db), logger: deps.logger });
  return createServiceApp({
    service: 'billing-service',
    logger: deps.logger,
    tokens: deps.tokens,
    routers: [invoiceRoutes(billing), invoiceFhirRoutes(billing), events.routes],
    // A database outage longer than the delivery retries parks paid appointments here: they come back by themselves.
    deadLetters: { store: events.deadLetters, apply: events.apply, logger: deps.logger, redriveMs: deps.deadLetterRedriveMs },
    readiness: deps.readiness,
    isShuttingDown: deps.isShuttingDown,
    audit: deps.audit,
    outbox: deps.outbox,
    onEventsQueued: deps.onEventsQueued,
    before: [fhirBodyTypes],
    mount: (app) => app.use('/fhir', fhirErrors(deps.logger)),
  });
}
