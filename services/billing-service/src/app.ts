import { createServiceApp, type ServiceAppDependencies, type Sidecar } from '@caregrid/platform';
import type { Pool } from '@caregrid/platform/postgres';
import { Billing, type BillingSettings } from './billing.js';
import { InvoiceRepository } from './data/invoice-repository.js';
import { PdfStore } from './data/pdf-store.js';
import { subscriptionRoutes } from './events/subscriptions.js';
import { invoiceRoutes } from './http/routes.js';

export function createApp(deps: ServiceAppDependencies<Pool> & { sidecar: Sidecar; settings: BillingSettings & { pdfBinding: string } }) {
  const invoices = new InvoiceRepository(deps.db, deps.onEventsQueued);
  const pdfs = new PdfStore(deps.sidecar, deps.settings.pdfBinding);
  const billing = new Billing(invoices, pdfs, deps.settings, deps.logger);
  return createServiceApp({
    service: 'billing-service',
    logger: deps.logger,
    routers: [
      invoiceRoutes({ invoices, pdfs, billing, logger: deps.logger }),
      subscriptionRoutes({ billing, invoices, logger: deps.logger }),
    ],
    readiness: deps.readiness,
    isShuttingDown: deps.isShuttingDown,
    audit: deps.audit,
    outbox: deps.outbox,
    onEventsQueued: deps.onEventsQueued,
  });
}
