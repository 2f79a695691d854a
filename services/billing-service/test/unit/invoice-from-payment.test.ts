import type { AppointmentSnapshot } from '@caregrid/contracts';
import { createLogger } from '@caregrid/platform';
import type { NewInvoice } from '../../src/data/invoice-repository.js';
import type { Invoice } from '../../src/domain/invoice.js';
import { billingUseCases, type BillingPorts } from '../../src/use-cases.js';

/** The repository's promise, one invoice per appointment, kept in memory; the use case is what is under test. */
function inMemoryInvoices() {
  const byAppointment = new Map<string, Invoice>();
  const port: Pick<BillingPorts['invoices'], 'issueOnce'> = {
    async issueOnce(invoice: NewInvoice) {
      const existing = byAppointment.get(invoice.appointmentId);
      if (existing) return { invoice: existing, created: false };
      const created: Invoice = {
        ...invoice,
        id: `invoice-${byAppointment.size + 1}`,
        number: `INV-2026-${String(byAppointment.size + 1).padStart(6, '0')}`,
        status: invoice.balancedAt ? 'balanced' : 'issued',
        cancelledAt: null,
        cancellationReason: null,
      };
      byAppointment.set(invoice.appointmentId, created);
      return { invoice: created, created: true };
    },
  };
  return { byAppointment, port: port as BillingPorts['invoices'] };
}

function inMemoryPdfs() {
  const saved: string[] = [];
  const port: Pick<BillingPorts['pdfs'], 'save'> = {
    async save(fileName) {
      saved.push(fileName);
    },
  };
  return { saved, port: port as BillingPorts['pdfs'] };
}

const paid: AppointmentSnapshot & { paidAt: string } = {
  appointmentId: '0198a2b4-0000-7000-8000-000000000001',
  patientId: '0198a2b4-0000-7000-8000-000000000002',
  patientName: 'Ada Lovelace',
  doctorId: '0198a2b4-0000-7000-8000-000000000003',
  doctorName: 'Dr. Grace Hopper',
  specialization: 'cardiology',
  serviceType: 'consultation',
  start: '2026-03-02T09:00:00.000Z',
  end: '2026-03-02T09:30:00.000Z',
  status: 'fulfilled',
  amount: 11900,
  currency: 'EUR',
  version: 1,
  paidAt: '2026-03-02T09:40:00.000Z',
};

function setUp() {
  const invoices = inMemoryInvoices();
  const pdfs = inMemoryPdfs();
  const useCases = billingUseCases({
    invoices: invoices.port,
    pdfs: pdfs.port,
    settings: { clinic: { name: 'Test Clinic', address: '1 Test Street' }, taxRateBasisPoints: 1900, paymentTermDays: 14 },
    logger: createLogger('billing-service', 'silent'),
    now: () => new Date('2026-03-02T10:00:00.000Z'),
  });
  return { invoices, pdfs, useCases };
}

describe('invoice from a payment', () => {
  it('bills the amount the event says was paid, balanced from the start, due after the payment term', async () => {
    const { useCases } = setUp();
    const invoice = await useCases.invoicePaidAppointment(paid);
    expect(invoice).toMatchObject({
      appointmentId: paid.appointmentId,
      patient: { id: paid.patientId, name: 'Ada Lovelace' },
      doctor: { id: paid.doctorId, name: 'Dr. Grace Hopper', specialization: 'cardiology' },
      items: [{ description: 'consultation on 2026-03-02', quantity: 1, unitAmount: 11900, amount: 11900 }],
      currency: 'EUR',
      gross: 11900,
      net: 10000,
      tax: 1900,
      status: 'balanced',
      balancedAt: paid.paidAt,
      issuedAt: '2026-03-02T10:00:00.000Z',
      dueDate: '2026-03-16',
    });
    const other = await setUp().useCases.invoicePaidAppointment({ ...paid, amount: 5000 });
    expect([other.gross, other.items[0]!.amount]).toEqual([5000, 5000]);
  });

  it('makes one invoice and one PDF when the same payment event arrives twice', async () => {
    const { useCases, invoices, pdfs } = setUp();
    const first = await useCases.invoicePaidAppointment(paid);
    const second = await useCases.invoicePaidAppointment(paid);
    expect(second).toEqual(first);
    expect(invoices.byAppointment.size).toBe(1);
    expect(pdfs.saved).toEqual([`${first.number}.pdf`]);
  });

  it('still answers the invoice when its PDF cannot be stored yet (the download renders it later)', async () => {
    const { useCases, pdfs } = setUp();
    pdfs.port.save = () => Promise.reject(new Error('binding down'));
    await expect(useCases.invoicePaidAppointment(paid)).resolves.toMatchObject({ gross: 11900 });
  });
});
