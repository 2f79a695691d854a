import { z } from 'zod';
import { INVOICE_STATUSES, invoiceRecord } from '@caregrid/contracts';
import { ApiRouter, pageQuerySchema } from '@caregrid/platform';
import type { BillingUseCases } from '../use-cases.js';

const idParams = z.object({ id: z.uuid() });
const listQuery = z.strictObject({
  patientId: z.uuid().optional(),
  appointmentId: z.uuid().optional(),
  status: z.enum(INVOICE_STATUSES).optional(),
  ...pageQuerySchema,
});
const cancelBody = z.strictObject({ reason: z.string().trim().min(1).max(1000) });
const invoiceResponse = invoiceRecord;

export function invoiceRoutes(useCases: BillingUseCases): ApiRouter {
  return ApiRouter.forService('billing-service')
    .add({
      method: 'get',
      path: '/invoices',
      audit: 'search',
      summary: 'List invoices: staff all, a patient those billed to them, a doctor those of their appointments',
      tags: ['billing'],
      query: listQuery,
      responses: {
        200: { description: 'A page', schema: z.object({ items: z.array(invoiceResponse), nextCursor: z.string().nullable() }) },
      },
      handler: async ({ query, caller, res }) => {
        res.json(await useCases.list(caller, query));
      },
    })
    .add({
      method: 'get',
      path: '/invoices/:id',
      audit: 'read',
      summary: 'Read an invoice',
      tags: ['billing'],
      params: idParams,
      responses: { 200: { description: 'The invoice', schema: invoiceResponse }, 404: { description: 'No such invoice' } },
      handler: async ({ params, caller, res }) => {
        res.json(await useCases.read(caller, params.id));
      },
    })
    .add({
      method: 'get',
      path: '/invoices/:id/pdf',
      audit: 'download',
      summary: 'The invoice as PDF (rendered again if the stored file is missing or not whole yet)',
      tags: ['billing'],
      params: idParams,
      responses: { 200: { description: 'PDF', contentType: 'application/pdf' }, 404: { description: 'No such invoice' } },
      handler: async ({ params, caller, res }) => {
        const { fileName, pdf } = await useCases.pdf(caller, params.id);
        res.type('application/pdf').set('content-disposition', `attachment; filename="${fileName}"`);
        res.send(pdf);
      },
    })
    .add({
      method: 'post',
      path: '/invoices/:id/cancel',
      audit: 'change',
      summary: 'Cancel an invoice (publishes invoice.cancelled)',
      tags: ['billing'],
      params: idParams,
      body: cancelBody,
      responses: {
        200: { description: 'Cancelled', schema: invoiceResponse },
        404: { description: 'No such invoice' },
        422: { description: 'Already cancelled' },
      },
      handler: async ({ params, body, caller, res }) => {
        res.json(await useCases.cancel(caller, params.id, body.reason));
      },
    });
}
