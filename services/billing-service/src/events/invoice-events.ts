import { invoiceCancelled, invoiceIssued } from '@caregrid/contracts';
import { outboxEvent } from '@caregrid/platform';
import type { Invoice } from '../domain/invoice.js';

export function invoiceEvent(kind: 'issued' | 'cancelled', invoice: Invoice) {
  const snapshot = {
    invoiceId: invoice.id,
    number: invoice.number,
    appointmentId: invoice.appointmentId,
    patientId: invoice.patient.id,
    doctorId: invoice.doctor.id,
    specialization: invoice.doctor.specialization,
    currency: invoice.currency,
    net: invoice.net,
    tax: invoice.tax,
    gross: invoice.gross,
    status: invoice.status,
    issuedAt: invoice.issuedAt,
  };
  return kind === 'issued'
    ? outboxEvent(invoiceIssued, invoice.id, snapshot)
    : outboxEvent(invoiceCancelled, invoice.id, { ...snapshot, reason: invoice.cancellationReason ?? '' });
}
