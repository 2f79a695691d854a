import type { AppointmentSnapshot } from '@caregrid/contracts';
import { authorize, narrow, noteAccess, seesNothing, type Caller, type Logger, type Page } from '@caregrid/platform';
import type { InvoiceFilter, InvoiceRepository } from './data/invoice-repository.js';
import type { PdfStore } from './data/pdf-store.js';
import { checkCancellation, dueDate, totalsFromGross, type Invoice } from './domain/invoice.js';
import { renderInvoicePdf } from './domain/pdf.js';

export type BillingSettings = { clinic: { name: string; address: string }; taxRateBasisPoints: number; paymentTermDays: number };

/** The invoices' store and the PDFs' store, as the use cases need them (the repository and the binding, or doubles in unit tests). */
export type BillingPorts = {
  invoices: Pick<InvoiceRepository, keyof InvoiceRepository>;
  pdfs: Pick<PdfStore, keyof PdfStore>;
};

export const pdfFileName = (invoice: Pick<Invoice, 'number'>) => `${invoice.number}.pdf`;

/** What the access model decides an invoice on: the patient billed and the doctor of the appointment. */
const invoiceFacts = (invoice: Invoice) => ({ id: invoice.id, patientId: invoice.patient.id, doctorId: invoice.doctor.id });

/**
 * The billing use cases, one each, for every way in: the subscription of appointment.paid, the JSON
 * routes and the FHIR routes call these, so all answer under the same rules and access checks.
 */
export function billingUseCases(deps: BillingPorts & { settings: BillingSettings; logger: Logger; now?: () => Date }) {
  const { invoices, pdfs, settings, logger } = deps;
  const now = deps.now ?? (() => new Date());

  const storePdf = async (invoice: Invoice): Promise<Buffer> => {
    const pdf = await renderInvoicePdf(invoice, settings.clinic);
    await pdfs.save(pdfFileName(invoice), pdf);
    return pdf;
  };

  const visible = async (caller: Caller, id: string): Promise<Invoice> => {
    const invoice = await invoices.get(id);
    authorize(caller, 'invoice', 'read', invoiceFacts(invoice));
    return invoice;
  };

  return {
    /**
     * A paid appointment becomes one balanced invoice for the amount paid, with a stored PDF. The
     * same event delivered again finds the invoice the first made (issueOnce) and stores nothing.
     */
    async invoicePaidAppointment(paid: AppointmentSnapshot & { paidAt: string }): Promise<Invoice> {
      const issuedAt = now();
      const totals = totalsFromGross(paid.amount, settings.taxRateBasisPoints);
      const { invoice, created } = await invoices.issueOnce({
        appointmentId: paid.appointmentId,
        patient: { id: paid.patientId, name: paid.patientName },
        doctor: { id: paid.doctorId, name: paid.doctorName, specialization: paid.specialization },
        items: [
          { description: `${paid.serviceType} on ${paid.start.slice(0, 10)}`, quantity: 1, unitAmount: paid.amount, amount: paid.amount },
        ],
        currency: paid.currency,
        ...totals,
        taxRateBasisPoints: settings.taxRateBasisPoints,
        issuedAt: issuedAt.toISOString(),
        dueDate: dueDate(issuedAt, settings.paymentTermDays),
        // Paid before it was invoiced: the invoice is balanced from the start.
        balancedAt: paid.paidAt,
      });
      if (created) {
        // Best effort now; the PDF download renders it again when it is missing.
        await storePdf(invoice).catch((error: unknown) => logger.warn({ err: error, invoice: invoice.number }, 'PDF not stored yet'));
      }
      return invoice;
    },

    read: visible,

    /** A page within what the caller may see (staff all, a patient those billed to them, a doctor those of their appointments). */
    async list(caller: Caller, filter: InvoiceFilter, options: { total?: boolean } = {}): Promise<Page<Invoice> & { total?: number }> {
      const scope = narrow(caller, 'invoice');
      if (seesNothing(scope)) return { items: [], nextCursor: null, ...(options.total ? { total: 0 } : {}) };
      const [page, total] = await Promise.all([invoices.list(filter, scope), options.total ? invoices.count(filter, scope) : undefined]);
      noteAccess({ patientIds: page.items.map((invoice) => invoice.patient.id) });
      return total === undefined ? page : { ...page, total };
    },

    /** How many invoices `list` finds under the same filters, over all its pages. */
    async count(caller: Caller, filter: Omit<InvoiceFilter, 'limit' | 'cursor'>): Promise<number> {
      const scope = narrow(caller, 'invoice');
      return seesNothing(scope) ? 0 : invoices.count(filter, scope);
    },

    /** The invoice and its PDF: the stored one when whole, else rendered (and stored) again. */
    async pdf(caller: Caller, id: string): Promise<{ invoice: Invoice; fileName: string; pdf: Buffer }> {
      const invoice = await visible(caller, id);
      const fileName = pdfFileName(invoice);
      return { invoice, fileName, pdf: (await pdfs.readComplete(fileName)) ?? (await storePdf(invoice)) };
    },

    /** Under the row lock; publishes invoice.cancelled. */
    cancel(caller: Caller, id: string, reason: string): Promise<Invoice> {
      return invoices.cancel(id, reason, (current) => {
        authorize(caller, 'invoice', 'cancel', invoiceFacts(current));
        checkCancellation(current);
      });
    },
  };
}

export type BillingUseCases = ReturnType<typeof billingUseCases>;
