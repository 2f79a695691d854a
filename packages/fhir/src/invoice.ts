import type { InvoiceRecord } from '@caregrid/contracts';
import { decimalOf, minorDigits, toFhirMoney } from './money.js';
import { narrative } from './narrative.js';
import { compact, Extensions, reference, Systems, type Resource } from './systems.js';

export type FhirInvoice = Resource & { resourceType: 'Invoice'; id: string };

/**
 * Invoice ← billing-service's record. Our statuses are FHIR's
 * (draft | issued | balanced | cancelled). Amounts are exact decimals of our
 * minor units (money.ts): each line's unit price × quantity as a `base`
 * price component; the totals as net and gross, the tax as the invoice's
 * `tax` price component. The appointment billed has no R4 element: our
 * extension references it.
 */
export function toFhirInvoice(invoice: InvoiceRecord): FhirInvoice {
  const money = (amount: number) => toFhirMoney(amount, invoice.currency);
  return compact({
    resourceType: 'Invoice' as const,
    id: invoice.id,
    text: narrative(
      `Invoice ${invoice.number} to ${invoice.patient.name} for ${invoice.doctor.name}, ${invoice.issuedAt.slice(0, 10)}: ${money(invoice.gross).value.toFixed(minorDigits(invoice.currency))} ${invoice.currency}, ${invoice.status}`,
    ),
    extension: [{ url: Extensions.invoiceAppointment, valueReference: reference('Appointment', invoice.appointmentId) }],
    identifier: [{ use: 'official', system: Systems.invoiceNumber, value: invoice.number }],
    status: invoice.status,
    cancelledReason: invoice.status === 'cancelled' && invoice.cancellationReason !== null ? invoice.cancellationReason : undefined,
    subject: reference('Patient', invoice.patient.id, invoice.patient.name),
    recipient: reference('Patient', invoice.patient.id, invoice.patient.name),
    date: invoice.issuedAt,
    participant: [
      {
        role: { text: invoice.doctor.specialization },
        actor: reference('Practitioner', invoice.doctor.id, invoice.doctor.name),
      },
    ],
    lineItem: invoice.items.map((item, index) => ({
      sequence: index + 1,
      chargeItemCodeableConcept: { text: item.description },
      priceComponent: [{ type: 'base', factor: item.quantity, amount: money(item.amount) }],
    })),
    totalPriceComponent: [
      { type: 'base', amount: money(invoice.net) },
      {
        type: 'tax',
        // The rate in basis points as FHIR's factor: 1900 bp → 0.19 (exact: the decimal is built as text).
        factor: decimalOf(invoice.taxRateBasisPoints, 4),
        amount: money(invoice.tax),
      },
    ],
    totalNet: money(invoice.net),
    totalGross: money(invoice.gross),
    paymentTerms: `Due ${invoice.dueDate}.`,
  });
}
