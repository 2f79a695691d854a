import { z } from 'zod';
import { ApiRouter } from '@caregrid/platform';
import { FHIR_JSON, pageLinks, searchSchemas, searchset, toFhirInvoice } from '@caregrid/fhir';
import { publicRequestUrl, sendCount, sendResource } from '@caregrid/fhir/http';
import type { BillingUseCases } from '../use-cases.js';

const outcome = (description: string) => ({ description: `${description} (OperationOutcome)`, contentType: FHIR_JSON });

/** FHIR R4 Invoice through the same use cases (and access checks) as the JSON API (staff all; a patient or doctor their own). */
export function invoiceFhirRoutes(useCases: BillingUseCases): ApiRouter {
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
        const filter = { patientId: query.patientId, status: query.status };
        if (query.summary === 'count') {
          sendCount(req, res, await useCases.count(caller, filter));
          return;
        }
        const page = await useCases.list(caller, { ...filter, limit: query.count, cursor: query.cursor }, { total: true });
        sendResource(
          res,
          searchset(page.items.map(toFhirInvoice), { total: page.total ?? 0, ...pageLinks(publicRequestUrl(req), page.nextCursor) }),
        );
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
        sendResource(res, toFhirInvoice(await useCases.read(caller, params.id)));
      },
    });
}
