import { z } from 'zod';
import { INVOICE_STATUSES, invoiceRecord } from '@caregrid/contracts';
import { ApiRouter, authorize, narrow, noteAccess, pageQuerySchema, seesNothing, type Caller } from '@caregrid/platform';
import { pdfFileName, type Billing } from '../billing.js';
import type { InvoiceRepository } from '../data/invoice-repository.js';
import type { PdfStore } from '../data/pdf-store.js';
import { checkCancellation, type Invoice } from '../domain/invoice.js';

const idParams = z.object({ id: z.uuid() });
const listQuery = z.strictObject({
  patientId: z.uuid().optional(),
  appointmentId: z.uuid().optional(),
  status: z.enum(INVOICE_STATUSES).optional(),
  ...pageQuerySchema,
});
const cancelBody = z.strictObject({ reason: z.string().trim().min(1).max(1000) });
const invoiceResponse = invoiceRecord;

/** What the access model decides an invoice on: the patient billed and the doctor of the appointment. */
export const invoiceFacts = (invoice: Invoice) => ({ id: invoice.id, patientId: invoice.patient.id, doctorId: invoice.doctor.id });

export function invoiceRoutes(deps: { invoices: InvoiceRepository; pdfs: PdfStore; billing: Billing }): ApiRouter {
  const { invoices, pdfs, billing } = deps;
  const visible = async (caller: Caller, id: string) => {
    const invoice = await invoices.get(id);
    authorize(caller, 'invoice', 'read', invoiceFacts(invoice));
    return invoice;
  };

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
        const scope = narrow(caller, 'invoice');
        const page = seesNothing(scope) ? { items: [], nextCursor: null } : await invoices.list(query, scope);
        noteAccess({ patientIds: page.items.map((invoice) => invoice.patient.id) });
        res.json(page);
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
        res.json(await visible(caller, params.id));
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
        const invoice = await visible(caller, params.id);
        res.type('application/pdf').set('content-disposition', `attachment; filename="${pdfFileName(invoice)}"`);
        res.send((await pdfs.readComplete(pdfFileName(invoice))) ?? (await billing.storePdf(invoice)));
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
        res.json(
          await invoices.cancel(params.id, body.reason, (current) => {
            authorize(caller, 'invoice', 'cancel', invoiceFacts(current));
            checkCancellation(current);
          }),
        );
      },
    });
}
