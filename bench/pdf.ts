/**
 * Invoice PDFs rendered per second on one core: billing-service's own renderer
 * (pdfkit) called in a loop in this process, one at a time.
 */
import type { Invoice } from '../services/billing-service/src/domain/invoice.js';
import { renderInvoicePdf } from '../services/billing-service/src/domain/pdf.js';
import type { Figure } from './report.js';

const invoice: Invoice = {
  id: '0190f0a0-0000-7000-8000-00000000be01',
  number: 'INV-2026-000001',
  appointmentId: '0190f0a0-0000-7000-8000-00000000be02',
  patient: { id: '0190f0a0-0000-7000-8000-00000000be03', name: 'Bench Patient' },
  doctor: { id: '0190f0a0-0000-7000-8000-00000000be04', name: 'Dr Bench', specialization: 'cardiology' },
  items: [{ description: 'consultation on 2026-12-01', quantity: 1, unitAmount: 5_000, amount: 5_000 }],
  currency: 'EUR',
  net: 5_000,
  tax: 0,
  gross: 5_000,
  taxRateBasisPoints: 0,
  status: 'balanced',
  issuedAt: '2026-11-30T10:00:00.000Z',
  dueDate: '2026-12-14',
  balancedAt: '2026-11-30T10:00:00.000Z',
  cancelledAt: null,
  cancellationReason: null,
};
const clinic = { name: 'CareGrid Clinic', address: '1 Bench Street, Testville' };

export async function measurePdf(seconds: number, progress: (line: string) => void): Promise<Figure[]> {
  progress(`pdf: rendering invoice PDFs in-process for ${seconds} s (after a warm-up)`);
  for (let i = 0; i < 20; i++) await renderInvoicePdf(invoice, clinic);
  let rendered = 0;
  let bytes = 0;
  const began = performance.now();
  const until = began + seconds * 1000;
  while (performance.now() < until) {
    bytes += (await renderInvoicePdf(invoice, clinic)).length;
    rendered++;
  }
  const perSecond = rendered / ((performance.now() - began) / 1000);
  return [
    {
      id: 'pdf.perSecond',
      label: 'invoice PDFs rendered, one core, in-process',
      value: perSecond,
      unit: '/s',
      reference: { label: 'goal', value: 200 },
      note: `${rendered} PDFs of ${Math.round(bytes / rendered)} bytes`,
    },
  ];
}
