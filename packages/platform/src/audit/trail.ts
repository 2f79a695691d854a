import type { Request, Response } from 'express';
import {
  auditEntry,
  auditRecorded,
  auditTopic,
  type AuditAction,
  type AuditActor,
  type AuditedResource,
  type AuditEntry,
  type AuditOutcome,
} from '@caregrid/contracts';
import type { Caller } from '../access/check.js';
import { currentContext } from '../context.js';
import type { OutboxEvent } from '../data/outbox.js';
import { uuidv7 } from '../ids.js';
import { groupCommit } from '../data/group-commit.js';
import { PROBLEM_CONTENT_TYPE } from '../http/problem.js';

/** The records one request touched and whether it was refused one (AuditNote.touched). */
export type AuditTouch = { patientIds: string[]; resourceId: string | null; denied: boolean };

/** Where a service's audit entries go: its outbox, so an entry survives a crash once the answer is on its way. */
export type AuditSink = (entry: AuditEntry) => Promise<void>;

/** An entry as the outbox row that carries it to its service's own topic, `audit.<app-id>` (only that service may publish it). */
export function auditOutboxRow(entry: AuditEntry): Omit<OutboxEvent, 'time'> {
  return {
    id: entry.id,
    topic: auditTopic(entry.service),
    type: auditRecorded.type,
    // A subject of its own: entries need no order among them (their time and chain place are in
    // them), so none waits behind another (a parked one holds nothing back), they spread over
    // partitions, and a relay's bulk request may carry all of them, even many about one patient.
    subject: entry.id,
    data: auditEntry.parse(entry),
    // Taken now: a batch is written outside this request's context.
    traceparent: currentContext()?.traceparent,
  };
}

/**
 * The sink that appends each entry to the service's own outbox (published by its relay at the next
 * pass). Entries of concurrent requests share one INSERT (groupCommit): each request still answers
 * only once its own entry is committed, so a crash loses no entry of an answered request.
 */
export function outboxAuditSink(appendMany: (events: Omit<OutboxEvent, 'time'>[]) => Promise<void>): AuditSink {
  const append = groupCommit(appendMany);
  return (entry) => append(auditOutboxRow(entry));
}

/**
 * The sink of the service that keeps the trail (analytics-service): its own reads of the trail
 * go straight into it, grouped like the outbox's. Not through an audit topic, whose delivery
 * route is not audited: storing an entry never makes another.
 */
export function trailAuditSink(appendMany: (entries: AuditEntry[]) => Promise<unknown>): AuditSink {
  const append = groupCommit<AuditEntry>(async (entries) => void (await appendMany(entries)));
  return async (entry) => append(auditEntry.parse(entry));
}

/**
 * The entry of an audited write, handed to the write itself (auditEntryForWrite): its row goes
 * into the outbox in the write's own transaction or statement. The write reports how it ended.
 */
export type AuditedWrite = {
  /** The entry's outbox row as of now, allowed with the route's success status: built last, after the access checks the write ran. */
  row(): Omit<OutboxEvent, 'time'>;
  /** The row committed with the change: the entry is written. */
  committed(): void;
  /** Nothing committed (refused, failed, nothing to change): the entry is written after the handler, as a read's. */
  failed(): void;
};

/** The actions that change state: their entry commits with the change, not after it. */
const WRITE_ACTIONS: ReadonlySet<AuditAction> = new Set(['create', 'change', 'delete']);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RESOURCE_ID = /^[\w.:-]{1,100}$/;

function actorOf(caller: Caller): AuditActor {
  if (caller.kind === 'user') {
    const { userId, roles, patientId, doctorId } = caller;
    return {
      kind: 'user',
      userId: userId.slice(0, 200),
      roles,
      ...(patientId ? { patientId: patientId.slice(0, 200) } : {}),
      ...(doctorId ? { doctorId: doctorId.slice(0, 200) } : {}),
    };
  }
  if (caller.kind === 'service') return { kind: 'service', appId: caller.appId.slice(0, 200) };
  return { kind: 'anonymous' };
}

/**
 * The client's address as the gateway determined it (first in
 * X-Forwarded-For), believed only on a call the gateway forwarded; null for a
 * peer's or the sidecar's call.
 */
export function clientAddressOf(caller: Caller, req: Request): string | null {
  if (caller.kind !== 'user' && caller.kind !== 'anonymous') return null;
  return req.header('x-forwarded-for')?.split(',')[0]?.trim().slice(0, 100) || null;
}

/**
 * What one request to an audited route did, filled in as it goes (the access
 * decision, the records it touched) and written once: by a write of the
 * request, in its transaction, or else before the answer leaves.
 */
export class AuditNote {
  private readonly patients = new Set<string>();
  private resourceId: string | null;
  private denied = false;
  private written: Promise<void> | undefined;
  /** A write holding the entry, until it ends: true when the entry committed with it. */
  private inWrite: Promise<boolean> | undefined;
  private readonly at = new Date();
  private readonly id = uuidv7();

  constructor(
    private readonly sink: AuditSink,
    private readonly what: {
      service: string;
      resource: AuditedResource;
      action: AuditAction;
      caller: Caller;
      req: Request;
      /** The status the route answers when it succeeds: a write's entry is written before the answer is known. */
      successStatus: number;
    },
  ) {
    const raw = what.req.params?.id;
    this.resourceId = typeof raw === 'string' && RESOURCE_ID.test(raw) ? raw : null;
  }

  concerns(access: { patientIds?: Iterable<string | null | undefined>; resourceId?: string | null }): void {
    for (const id of access.patientIds ?? []) if (id && UUID.test(id) && this.patients.size < 1000) this.patients.add(id.toLowerCase());
    if (access.resourceId) this.resourceId = access.resourceId;
  }

  deny(): void {
    this.denied = true;
  }

  /** What the request touched so far: kept with an idempotent answer, so that its replay is recorded alike. */
  touched(): AuditTouch {
    return { patientIds: [...this.patients], resourceId: this.resourceId, denied: this.denied };
  }

  /** A replayed answer's access: the records (and decision) of the request that first gave it. */
  replay(touch: AuditTouch): void {
    this.concerns(touch);
    if (touch.denied) this.deny();
  }

  /** Writes the entry (once; later calls share the first write), unless a write of this request committed it. */
  write(status: number): Promise<void> {
    this.written ??= this.inWrite
      ? this.inWrite.then((committed) => (committed ? undefined : this.sink(this.entry(status))))
      : this.sink(this.entry(status));
    return this.written;
  }

  /** The entry for a write to commit with its change: only for an action that changes state, and to one write at a time. */
  forWrite(): AuditedWrite | undefined {
    if (!WRITE_ACTIONS.has(this.what.action) || this.written || this.inWrite) return undefined;
    let settle!: (committed: boolean) => void;
    this.inWrite = new Promise((resolve) => (settle = resolve));
    return {
      row: () => auditOutboxRow(this.entry(this.what.successStatus)),
      committed: () => {
        this.written ??= Promise.resolve();
        settle(true);
      },
      failed: () => {
        this.inWrite = undefined;
        settle(false);
      },
    };
  }

  private outcome(status: number): AuditOutcome {
    if (this.denied || status === 401 || status === 403) return 'denied';
    return status < 400 ? 'allowed' : 'failed';
  }

  private entry(status: number): AuditEntry {
    const context = currentContext();
    return {
      id: this.id,
      at: this.at.toISOString(),
      actor: actorOf(this.what.caller),
      service: this.what.service,
      resource: this.what.resource,
      resourceId: this.resourceId,
      action: this.what.action,
      patientIds: [...this.patients],
      outcome: this.outcome(status),
      status,
      clientAddress: clientAddressOf(this.what.caller, this.what.req),
      requestId: context?.requestId ?? 'none',
      ...(context?.clientRequestId ? { clientRequestId: context.clientRequestId } : {}),
      traceId: context?.traceparent.split('-')[1] ?? '0'.repeat(32),
    };
  }
}

/**
 * Starts the audit of a request: the note goes into the request context (the
 * access checks and the use case fill it in) and the answer is held until the
 * entry is in the outbox (a committed write has put it there already). If that
 * write fails the data is not served: 503.
 */
export function beginAudit(res: Response, note: AuditNote): void {
  const context = currentContext();
  if (context) context.audit = note;
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  res.end = ((...args: unknown[]) => {
    note.write(res.statusCode).then(
      () => end(...args),
      () => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        for (const name of res.getHeaderNames()) if (name !== 'x-request-id') res.removeHeader(name);
        res.statusCode = 503;
        res.setHeader('content-type', PROBLEM_CONTENT_TYPE);
        end(
          JSON.stringify({
            type: 'about:blank',
            title: 'Service Unavailable',
            status: 503,
            detail: 'The access could not be recorded in the audit trail, so it was not served',
          }),
        );
      },
    );
    return res;
  }) as Response['end'];
}

/** Tells the audit which records (and whose) this request touched: search results, a created record. */
export function noteAccess(access: { patientIds?: Iterable<string | null | undefined>; resourceId?: string | null }): void {
  currentContext()?.audit?.concerns(access);
}

/** Called by the access checks: the decision on a record, with the patient it concerns. */
export function noteDecision(patientId: string | null | undefined, allowed: boolean): void {
  const audit = currentContext()?.audit;
  if (!audit) return;
  audit.concerns({ patientIds: [patientId] });
  if (!allowed) audit.deny();
}

/**
 * The entry of the audited write this request is making, for the write helpers (inTransaction,
 * writeWithOutboxEvent, inMysqlTransaction) to put into the outbox with the change, so that the
 * change and its entry commit or fail together. Undefined outside such a request, for a read, and
 * while another write holds it or once it is written.
 */
export function auditEntryForWrite(): AuditedWrite | undefined {
  return currentContext()?.audit?.forWrite();
}

/** Writes the entry now, as allowed: for an answer that streams (a PDF) and so cannot wait at its end. */
export async function recordAccessNow(): Promise<void> {
  await currentContext()?.audit?.write(200);
}
