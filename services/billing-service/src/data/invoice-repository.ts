import { z } from 'zod';
import { decodeCursor, NotFoundError, timestamp, toPage, uuidv7, type Page, type Scope } from '@caregrid/platform';
import { enqueueEvent, inTransaction, recordScope, scopeClause, type Pool, type ScopeColumns } from '@caregrid/platform/postgres';
import type { Invoice, InvoiceStatus, LineItem } from '../domain/invoice.js';
import { invoiceNumber } from '../domain/invoice.js';
import { invoiceEvent } from '../events/invoice-events.js';

type Row = {
  id: string;
  number: string;
  appointment_id: string;
  patient_id: string;
  patient_name: string;
  doctor_id: string;
  doctor_name: string;
  specialization: string;
  items: LineItem[];
  currency: string;
  net: string;
  tax: string;
  gross: string;
  tax_rate_bps: number;
  status: InvoiceStatus;
  issued_at: Date;
  due_date: string;
  balanced_at: Date | null;
  cancelled_at: Date | null;
  cancellation_reason: string | null;
};

const toInvoice = (r: Row): Invoice => ({
  id: r.id,
  number: r.number,
  appointmentId: r.appointment_id,
  patient: { id: r.patient_id, name: r.patient_name },
  doctor: { id: r.doctor_id, name: r.doctor_name, specialization: r.specialization },
  items: r.items,
  currency: r.currency,
  net: Number(r.net),
  tax: Number(r.tax),
  gross: Number(r.gross),
  taxRateBasisPoints: r.tax_rate_bps,
  status: r.status,
  issuedAt: r.issued_at.toISOString(),
  dueDate: r.due_date,
  balancedAt: r.balanced_at?.toISOString() ?? null,
  cancelledAt: r.cancelled_at?.toISOString() ?? null,
  cancellationReason: r.cancellation_reason,
});

export type NewInvoice = Omit<Invoice, 'id' | 'number' | 'status' | 'cancelledAt' | 'cancellationReason'>;
export type InvoiceFilter = { patientId?: string; appointmentId?: string; status?: InvoiceStatus; limit: number; cursor?: string };

const cursorSchema = z.tuple([timestamp, z.uuid()]);

/**
 * What an invoice's scope links are in its row. No care team: billing hears of paid appointments
 * only, so it cannot tell whose care a patient is in (a `care` grant on invoices fails at start).
 */
export const INVOICE_SCOPE_COLUMNS: ScopeColumns = { patientId: 'patient_id', doctorId: 'doctor_id' };
const SCOPE = recordScope('invoice', INVOICE_SCOPE_COLUMNS);

/** The WHERE of a search within a scope; parameters numbered after `offset`. */
export function whereOf(filter: Omit<InvoiceFilter, 'limit' | 'cursor'>, scope: Scope, offset: number) {
  const scoped = scopeClause(scope, SCOPE, offset + 1);
  const $ = (n: number) => `$${offset + scoped.params.length + n}`;
  return {
    sql: `${scoped.sql}
      AND (${$(1)}::uuid IS NULL OR patient_id = ${$(1)}) AND (${$(2)}::uuid IS NULL OR appointment_id = ${$(2)})
      AND (${$(3)}::text IS NULL OR status = ${$(3)})`,
    params: [...scoped.params, filter.patientId ?? null, filter.appointmentId ?? null, filter.status ?? null],
  };
}

export class InvoiceRepository {
  constructor(
    private readonly pool: Pool,
    private readonly onEventsQueued: () => void = () => undefined,
  ) {}

  /**
   * Exactly one invoice per appointment: deliveries of the same event
   * serialise on a per-appointment lock, and a later one finds the invoice
   * made by the first. The number is drawn in the same transaction, so a
   * rollback leaves no gap.
   */
  async issueOnce(invoice: NewInvoice): Promise<{ invoice: Invoice; created: boolean }> {
    const result = await inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [invoice.appointmentId]);
      const existing = await client.query<Row>('SELECT * FROM invoices WHERE appointment_id = $1', [invoice.appointmentId]);
      if (existing.rows[0]) return { invoice: toInvoice(existing.rows[0]), created: false };
      const year = new Date(invoice.issuedAt).getUTCFullYear();
      const { rows: counter } = await client.query<{ last: number }>(
        `INSERT INTO invoice_counters (year, last) VALUES ($1, 1)
         ON CONFLICT (year) DO UPDATE SET last = invoice_counters.last + 1 RETURNING last`,
        [year],
      );
      const { rows } = await client.query<Row>(
        `INSERT INTO invoices (id, number, appointment_id, patient_id, patient_name, doctor_id, doctor_name, specialization,
                               items, currency, net, tax, gross, tax_rate_bps, status, issued_at, due_date, balanced_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING *`,
        [
          uuidv7(),
          invoiceNumber(year, counter[0]!.last),
          invoice.appointmentId,
          invoice.patient.id,
          invoice.patient.name,
          invoice.doctor.id,
          invoice.doctor.name,
          invoice.doctor.specialization,
          JSON.stringify(invoice.items),
          invoice.currency,
          invoice.net,
          invoice.tax,
          invoice.gross,
          invoice.taxRateBasisPoints,
          invoice.balancedAt ? 'balanced' : 'issued',
          invoice.issuedAt,
          invoice.dueDate,
          invoice.balancedAt,
        ],
      );
      const created = toInvoice(rows[0]!);
      await enqueueEvent(client, invoiceEvent('issued', created));
      return { invoice: created, created: true };
    });
    if (result.created) this.onEventsQueued();
    return result;
  }

  async get(id: string): Promise<Invoice> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM invoices WHERE id = $1', [id]);
    if (!rows[0]) throw new NotFoundError('invoice', id);
    return toInvoice(rows[0]);
  }

  async cancel(id: string, reason: string, check: (invoice: Invoice) => void): Promise<Invoice> {
    const invoice = await inTransaction(this.pool, async (client) => {
      const current = await client.query<Row>('SELECT * FROM invoices WHERE id = $1 FOR UPDATE', [id]);
      if (!current.rows[0]) throw new NotFoundError('invoice', id);
      check(toInvoice(current.rows[0]));
      const { rows } = await client.query<Row>(
        "UPDATE invoices SET status = 'cancelled', cancelled_at = now(), cancellation_reason = $2 WHERE id = $1 RETURNING *",
        [id, reason],
      );
      const cancelled = toInvoice(rows[0]!);
      await enqueueEvent(client, invoiceEvent('cancelled', cancelled));
      return cancelled;
    });
    this.onEventsQueued();
    return invoice;
  }

  /** Keyset pagination in issue order, within what `scope` lets the caller see (filters narrow it further). */
  async list(filter: InvoiceFilter, scope: Scope): Promise<Page<Invoice>> {
    const after = filter.cursor ? decodeCursor(filter.cursor, cursorSchema) : null;
    const where = whereOf(filter, scope, 3);
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM invoices
        WHERE ${where.sql} AND ($1::timestamptz IS NULL OR (issued_at, id) > ($1, $2::uuid))
        ORDER BY issued_at, id LIMIT $3`,
      [after?.[0] ?? null, after?.[1] ?? null, filter.limit + 1, ...where.params],
    );
    return toPage(rows, filter.limit, toInvoice, (r) => [r.issued_at.toISOString(), r.id]);
  }

  /** How many invoices `list` finds under the same filters and scope, over all its pages. */
  async count(filter: Omit<InvoiceFilter, 'limit' | 'cursor'>, scope: Scope): Promise<number> {
    const where = whereOf(filter, scope, 0);
    const { rows } = await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM invoices WHERE ${where.sql}`, where.params);
    return Number(rows[0]!.n);
  }
}
