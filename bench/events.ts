/**
 * Event latency end to end, one sample at a time on an otherwise idle system:
 * a patient created → counted by analytics (outbox → Kafka → analytics), and an
 * appointment paid → its invoice PDF downloadable (outbox → Kafka → billing).
 * Each sample polls the gateway every ~10 ms from the moment the write was answered.
 */
import type { Bookings } from './bookings.js';
import { newPatient } from './gateway.js';
import type { Figure } from './report.js';
import { percentile } from './stats.js';
import type { System } from './system.js';

const POLL_MS = 10;
const SAMPLE_TIMEOUT_MS = 30_000;

async function until<T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + SAMPLE_TIMEOUT_MS;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${SAMPLE_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

export async function patientToAnalytics(system: System, samples: number, progress: (line: string) => void): Promise<number[]> {
  const from = new Date(Date.now() - 60_000).toISOString();
  const count = async () => {
    const to = new Date(Date.now() + 86_400_000).toISOString();
    const summary = await system.api('GET', `/api/analytics/summary?from=${from}&to=${to}`);
    if (summary.status !== 200) throw new Error(`GET /api/analytics/summary answered ${summary.status}`);
    return (summary.body as { patientsRegistered: number }).patientsRegistered;
  };
  // Patients created just before (the bench's own set-up) may still be on their way: start from a
  // count that held still for two seconds, then wait for exactly one more per sample.
  let baseline = await count();
  let stillSince = Date.now();
  while (Date.now() - stillSince < 2_000) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = await count();
    if (now !== baseline) [baseline, stillSince] = [now, Date.now()];
  }
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const created = await system.api('POST', '/api/patients', newPatient());
    if (created.status !== 201) throw new Error(`POST /api/patients answered ${created.status}`);
    const began = performance.now();
    await until('patient in analytics', async () => ((await count()) >= baseline + i + 1 ? true : undefined));
    latencies.push(performance.now() - began);
    if ((i + 1) % 10 === 0) progress(`events: patient → analytics, ${i + 1}/${samples}`);
  }
  return latencies;
}

export async function paidToInvoicePdf(
  system: System,
  bookings: Bookings,
  samples: number,
  progress: (line: string) => void,
): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const booked = await system.api('POST', '/api/appointments', bookings.planner.next());
    if (booked.status !== 201) throw new Error(`POST /api/appointments answered ${booked.status}: ${JSON.stringify(booked.body)}`);
    const { id, amount } = booked.body as { id: string; amount: number };
    const paid = await system.api('POST', `/api/appointments/${id}/payment`, { method: 'debit', amount });
    if (paid.status !== 200) throw new Error(`payment answered ${paid.status}: ${JSON.stringify(paid.body)}`);
    const began = performance.now();
    const invoiceId = await until('invoice', async () => {
      const page = await system.api('GET', `/api/billing/invoices?appointmentId=${id}`);
      return (page.body as { items?: { id: string }[] }).items?.[0]?.id;
    });
    await until('invoice PDF', async () => {
      const pdf = await fetch(`${system.gateway}/api/billing/invoices/${invoiceId}/pdf`, { headers: system.admin });
      await pdf.arrayBuffer();
      return pdf.status === 200 ? true : undefined;
    });
    latencies.push(performance.now() - began);
    if ((i + 1) % 10 === 0) progress(`events: paid → invoice PDF, ${i + 1}/${samples}`);
  }
  return latencies;
}

export function latencyFigures(id: string, label: string, latencies: number[]): Figure[] {
  const note = `${latencies.length} samples, min ${Math.round(Math.min(...latencies))} ms, max ${Math.round(Math.max(...latencies))} ms`;
  return [
    { id: `${id}.p50`, label: `${label}: p50`, value: percentile(latencies, 50), unit: 'ms', note },
    { id: `${id}.p99`, label: `${label}: p99`, value: percentile(latencies, 99), unit: 'ms', reference: { label: 'goal <', value: 300 } },
  ];
}

export async function measureEvents(
  system: System,
  bookings: Bookings,
  samples: number,
  progress: (line: string) => void,
): Promise<Figure[]> {
  progress(`events: patient created → visible in analytics (${samples} samples)`);
  const toAnalytics = await patientToAnalytics(system, samples, progress);
  progress(`events: appointment paid → invoice PDF downloadable (${samples} samples)`);
  const toPdf = await paidToInvoicePdf(system, bookings, samples, progress);
  return [
    ...latencyFigures('events.patientToAnalytics', 'patient created → in analytics summary', toAnalytics),
    ...latencyFigures('events.paidToInvoicePdf', 'appointment paid → invoice PDF downloadable', toPdf),
  ];
}
