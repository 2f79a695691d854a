import { z } from 'zod';
import { ApiRouter, authorize, narrow, noteAccess, seesNothing } from '@caregrid/platform';
import { FHIR_JSON, pageLinks, searchSchemas, searchset, toFhirInvoice } from '@caregrid/fhir';
import { publicRequestUrl, sendCount, sendResource } from '@caregrid/fhir/http';
import type { InvoiceRepository } from '../data/invoice-repository.js';
import { invoiceFacts } from './routes.js';

const outcome = (description: string) => ({ description: `${description} (OperationOutcome)`, contentType: FHIR_JSON });

/** FHIR R4 Invoice over the same repository and access checks as the JSON API (staff all; a patient or doctor their own). */
export function invoiceFhirRoutes(invoices: InvoiceRepository): ApiRouter {
  return ApiRouter.forService('billing-service')
    .add({
      method: 'get',
      path: '/fhir/Invoice',
      audit: 'search',
      summary: 'FHIR Invoice search (patient, status): only your own as a patient or doctor',
      tags: ['fhir'],
      query: searchSchemas.Invoice,
      responses: { 200: { description: 'searchset Bundle', contentType: FHIR_JSON }, 400: outcome('Bad parameter') },
      handler: async ({ query, caller, req, res }) => {
        const scope = narrow(caller, 'invoice');
        const filter = { patientId: query.patientId, status: query.status };
        if (query.summary === 'count') {
          sendCount(req, res, seesNothing(scope) ? 0 : await invoices.count(filter, scope));
          return;
        }
        const [page, total] = seesNothing(scope)
          ? [{ items: [], nextCursor: null }, 0]
          : await Promise.all([
              invoices.list({ ...filter, limit: query.count, cursor: query.cursor }, scope),
              invoices.count(filter, scope),
            ]);
        noteAccess({ patientIds: page.items.map((invoice) => invoice.patient.id) });
        sendResource(res, searchset(page.items.map(toFhirInvoice), { total, ...pageLinks(publicRequestUrl(req), page.nextCursor) }));
      },
    })
    .add({
      method: 'get',
      path: '/fhir/Invoice/:id',
      audit: 'read',
      summary: 'FHIR Invoice read',
      tags: ['fhir'],
      params: z.object({ id: z.uuid() }),
      responses: { 200: { description: 'Invoice', contentType: FHIR_JSON }, 404: outcome('No such invoice') },
      handler: async ({ params, caller, res }) => {
        const invoice = await invoices.get(params.id);
        authorize(caller, 'invoice', 'read', invoiceFacts(invoice));
        sendResource(res, toFhirInvoice(invoice));
      },
    });
}
