import type PDFKit from 'pdfkit';
import { formatMoney, type Invoice } from './invoice.js';

/**
 * pdfkit, loaded with the first invoice rather than at start: it is ~20 MiB resident and ~0.15 s
 * of start-up that an idle billing-service (and its start→ready) need not pay.
 */
let pdfkit: Promise<typeof PDFKit> | undefined;

/** Renders an invoice to PDF bytes (pdfkit's built-in Helvetica: no font files needed). */
export async function renderInvoicePdf(invoice: Invoice, clinic: { name: string; address: string }): Promise<Buffer> {
  const PDFDocument = await (pdfkit ??= import('pdfkit').then((module) => module.default));
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ size: 'A4', margin: 50, info: { Title: `Invoice ${invoice.number}`, Author: clinic.name } });
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);

    doc.fontSize(20).text(clinic.name).fontSize(10).fillColor('#555').text(clinic.address).fillColor('#000').moveDown(2);
    doc.fontSize(16).text(`Invoice ${invoice.number}`).fontSize(10).moveDown(0.5);
    doc
      .text(`Issued: ${invoice.issuedAt.slice(0, 10)}`)
      .text(`Due: ${invoice.dueDate}`)
      .text(`Status: ${invoice.status}`)
      .moveDown();
    doc.text(`Billed to: ${invoice.patient.name} (patient ${invoice.patient.id})`);
    doc.text(`Provider: ${invoice.doctor.name}, ${invoice.doctor.specialization}`).text(`Appointment: ${invoice.appointmentId}`).moveDown();

    doc.fontSize(11).text('Items', { underline: true }).fontSize(10);
    for (const item of invoice.items) {
      doc.text(`${item.quantity} × ${item.description}: ${formatMoney(item.amount, invoice.currency)}`);
    }
    doc.moveDown();
    doc.text(`Net: ${formatMoney(invoice.net, invoice.currency)}`);
    doc.text(`Tax (${(invoice.taxRateBasisPoints / 100).toFixed(2)}%): ${formatMoney(invoice.tax, invoice.currency)}`);
    doc.fontSize(12).text(`Total: ${formatMoney(invoice.gross, invoice.currency)}`);
    doc.end();
  });
}
