import { z } from 'zod';
import { defineEvent, Topics } from './core.js';
import { INVOICE_STATUSES } from './vocabulary.js';

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

const amount = z.number().int();

/** billing-service's answer for one invoice (`GET /invoices/{id}`, items of its searches). */
export const invoiceRecord = z.object({
  id: z.uuid(),
  number: z.string(),
  appointmentId: z.uuid(),
  patient: z.object({ id: z.uuid(), name: z.string() }),
  doctor: z.object({ id: z.uuid(), name: z.string(), specialization: z.string() }),
  items: z.array(z.object({ description: z.string(), quantity: z.number().int(), unitAmount: amount, amount: amount })),
  currency: z.string(),
  net: amount,
  tax: amount,
  gross: amount,
  taxRateBasisPoints: z.number().int(),
  status: z.enum(INVOICE_STATUSES),
  issuedAt: z.iso.datetime(),
  dueDate: z.iso.date(),
  balancedAt: z.iso.datetime().nullable(),
  cancelledAt: z.iso.datetime().nullable(),
  cancellationReason: z.string().nullable(),
});
export type InvoiceRecord = z.output<typeof invoiceRecord>;
