import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AuditNote } from './audit/trail.js';

/** Per-request values that outgoing calls (invocation, publish) pass on. */
export type RequestContext = {
  requestId: string;
  traceparent: string;
  /** Identity headers set by the gateway sidecar's policy, forwarded to peers as-is. */
  identity: Record<string, string>;
  /** The audit entry of this request, when its route reads or changes patient data. */
  audit?: AuditNote;
  /**
   * Where this request's writes wait, uncommitted, for its answer to be stored beside them: set
   * for a request with an Idempotency-Key (http/idempotency.ts), read by the database module.
   */
  heldWrites?: object;
};

const storage = new AsyncLocalStorage<RequestContext>();

export const IDENTITY_HEADERS = [
  'x-caregrid-user-id',
  'x-caregrid-roles',
  'x-caregrid-patient-id',
  'x-caregrid-doctor-id',
  'x-caregrid-email-verified',
] as const;

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The parts of a W3C traceparent (version 00), or undefined when it is not one. */
export function parseTraceparent(value: string | undefined): { traceId: string; spanId: string; flags: string } | undefined {
  const match = value ? TRACEPARENT.exec(value) : null;
  return match ? { traceId: match[1]!, spanId: match[2]!, flags: match[3]! } : undefined;
}

/** A new W3C traceparent; when a parent is given, same trace id and a new span id. */
export function childTraceparent(parent?: string): string {
  const parsed = parseTraceparent(parent);
  const traceId = parsed?.traceId ?? randomBytes(16).toString('hex');
  const flags = parsed?.flags ?? '01';
  return `00-${traceId}-${randomBytes(8).toString('hex')}-${flags}`;
}

export function isValidTraceparent(value: string | undefined): value is string {
  return value !== undefined && TRACEPARENT.test(value) && !value.includes('-00000000000000000000000000000000-');
}

export function newRequestContext(headers: Record<string, string | string[] | undefined>): RequestContext {
  const header = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const incomingTrace = header('traceparent');
  const requestId = header('x-request-id');
  const identity: Record<string, string> = {};
  for (const name of IDENTITY_HEADERS) {
    const value = header(name);
    if (value) identity[name] = value;
  }
  return {
    // Accept a caller's request id only when it looks like one (log-injection guard).
    requestId: requestId && /^[\w.:-]{1,128}$/.test(requestId) ? requestId : randomUUID(),
    traceparent: isValidTraceparent(incomingTrace) ? incomingTrace : childTraceparent(),
    identity,
  };
}

export function runWithContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** Runs `fn` outside any request, e.g. background work a request merely woke (its timers inherit the request otherwise). */
export function outsideRequest<T>(fn: () => T): T {
  return storage.exit(fn);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Headers an outgoing call carries so the trace, request id and caller identity follow it. */
export function propagationHeaders(): Record<string, string> {
  const context = currentContext();
  if (!context) return { traceparent: childTraceparent() };
  return {
    traceparent: context.traceparent,
    'x-request-id': context.requestId,
    ...context.identity,
  };
}
