import { INVOICE_STATUSES } from '@caregrid/contracts';
import { RuleViolationError } from '@caregrid/platform';

export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];
export type LineItem = { description: string; quantity: number; unitAmount: number; amount: number };

export type Invoice = {
  id: string;
  number: string;
  appointmentId: string;
  patient: { id: string; name: string };
  doctor: { id: string; name: string; specialization: string };
  items: LineItem[];
  currency: string;
  net: number;
  tax: number;
  gross: number;
  taxRateBasisPoints: number;
  status: InvoiceStatus;
  issuedAt: string;
  dueDate: string;
  balancedAt: string | null;
  cancelledAt: string | null;
  cancellationReason: string | null;
};

/** `INV-2026-000123`: per calendar year, numbered without gaps by the database. */
export const invoiceNumber = (year: number, sequence: number) => `INV-${year}-${String(sequence).padStart(6, '0')}`;

/**
 * The price paid is the gross amount; net and tax are derived from it in
 * integer minor units (tax rounded half up, net takes the remainder), so
 * net + tax = gross exactly. Medical services are often tax-exempt: rate 0.
 */
export function totalsFromGross(gross: number, taxRateBasisPoints: number): { net: number; tax: number; gross: number } {
  const net = Math.round((gross * 10_000) / (10_000 + taxRateBasisPoints));
  return { net, tax: gross - net, gross };
}

export function dueDate(issuedAt: Date, paymentTermDays: number): string {
  return new Date(issuedAt.getTime() + paymentTermDays * 86_400_000).toISOString().slice(0, 10);
}

/** FHIR Invoice: draft → issued → balanced | cancelled; a cancelled invoice stays cancelled. */
export function checkCancellation(invoice: Pick<Invoice, 'status'>): void {
  if (invoice.status === 'cancelled') throw new RuleViolationError('the invoice is already cancelled', { status: invoice.status });
}

/** Minor units as a human amount for documents, e.g. 5000 EUR → "50.00 EUR". */
export function formatMoney(amount: number, currency: string): string {
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  return `${(amount / 10 ** digits).toFixed(digits)} ${currency}`;
}
