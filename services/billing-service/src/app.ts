import { createServiceApp, type ServiceAppDependencies, type Sidecar } from '@caregrid/platform';
import { fhirApi } from '@caregrid/fhir/http';
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
  return createServiceApp({
    service: 'billing-service',
    deps,
    json: invoiceRoutes(billing),
    fhir: fhirApi(invoiceFhirRoutes(billing)),
    subscriptions: subscriptions({ billing, deadLetters: pgDeadLetterStore(deps.db), logger: deps.logger }),
  });
}
