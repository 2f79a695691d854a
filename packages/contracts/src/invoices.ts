import { z } from 'zod';
import { defineEvent, Topics } from './core.js';

export const INVOICE_STATUSES = ['draft', 'issued', 'balanced', 'cancelled'] as const;

const invoiceSnapshot = z.object({
  invoiceId: z.uuid(),
  number: z.string(),
  appointmentId: z.uuid(),
  patientId: z.uuid(),
  doctorId: z.uuid(),
  specialization: z.string(),
  currency: z.string().length(3),
  net: z.number().int(),
  tax: z.number().int(),
  gross: z.number().int(),
  status: z.enum(INVOICE_STATUSES),
  issuedAt: z.iso.datetime(),
});

export const invoiceIssued = defineEvent({ aggregate: 'invoice', verb: 'issued', topic: Topics.invoices, data: invoiceSnapshot });
export const invoiceCancelled = defineEvent({
  aggregate: 'invoice',
  verb: 'cancelled',
  topic: Topics.invoices,
  data: invoiceSnapshot.extend({ reason: z.string() }),
});
