import type { AppointmentSnapshot } from '@caregrid/contracts';
import type { Logger } from '@caregrid/platform';
import type { InvoiceRepository } from './data/invoice-repository.js';
import type { PdfStore } from './data/pdf-store.js';
import { dueDate, totalsFromGross, type Invoice } from './domain/invoice.js';
import { renderInvoicePdf } from './domain/pdf.js';

export type BillingSettings = { clinic: { name: string; address: string }; taxRateBasisPoints: number; paymentTermDays: number };

export const pdfFileName = (invoice: Pick<Invoice, 'number'>) => `${invoice.number}.pdf`;

/** The invoice story: a paid appointment becomes one balanced invoice with a stored PDF. */
export class Billing {
  constructor(
    private readonly invoices: InvoiceRepository,
    private readonly pdfs: PdfStore,
    private readonly settings: BillingSettings,
    private readonly logger: Logger,
  ) {}

  async invoicePaidAppointment(paid: AppointmentSnapshot & { paidAt: string }): Promise<Invoice> {
    const issuedAt = new Date();
    const totals = totalsFromGross(paid.amount, this.settings.taxRateBasisPoints);
    const { invoice, created } = await this.invoices.issueOnce({
      appointmentId: paid.appointmentId,
      patient: { id: paid.patientId, name: paid.patientName },
      doctor: { id: paid.doctorId, name: paid.doctorName, specialization: paid.specialization },
      items: [
        { description: `${paid.serviceType} on ${paid.start.slice(0, 10)}`, quantity: 1, unitAmount: paid.amount, amount: paid.amount },
      ],
      currency: paid.currency,
      ...totals,
      taxRateBasisPoints: this.settings.taxRateBasisPoints,
      issuedAt: issuedAt.toISOString(),
      dueDate: dueDate(issuedAt, this.settings.paymentTermDays),
      // Paid before it was invoiced: the invoice is balanced from the start.
      balancedAt: paid.paidAt,
    });
    if (created) {
      // Best effort now; GET …/pdf renders it again when it is missing.
      await this.storePdf(invoice).catch((error: unknown) =>
        this.logger.warn({ err: error, invoice: invoice.number }, 'PDF not stored yet'),
      );
    }
    return invoice;
  }

  async storePdf(invoice: Invoice): Promise<Buffer> {
    const pdf = await renderInvoicePdf(invoice, this.settings.clinic);
    await this.pdfs.save(pdfFileName(invoice), pdf);
    return pdf;
  }
}
