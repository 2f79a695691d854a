import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AuditNote } from './audit/trail.js';

/** Per-request values that outgoing calls (invocation, publish) pass on. */
export type RequestContext = {
  /** Minted by the gateway (or by the first app the request reached), passed on to every peer call. */
  requestId: string;
  /** The client's own X-Request-Id, kept beside ours for support to match, never in its place. */
  clientRequestId?: string;
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

// A request id we pass on or keep must look like one (log-injection guard).
const REQUEST_ID = /^[\w.:-]{1,128}$/;

export const isWellFormedRequestId = (value: string | undefined): value is string => value !== undefined && REQUEST_ID.test(value);

/**
 * The context of a request as it arrives. At the public entry (the gateway) the caller is a
 * client: its X-Request-Id and traceparent are its own word, so the request gets a new id and a
 * new trace, and a well-formed client id is kept as `clientRequestId`. Behind it, request ids are
 * believed only from a call that came through service invocation (daprd sets
 * `dapr-caller-app-id`: the gateway, or a peer passing on the id of the request it serves); the
 * app's own sidecar delivering an event or a trigger gets a new one. The traceparent is the
 * sidecar's (daprd continues its caller's trace) and identity headers are passed on as sent: no
 * service believes them (callerOf knows a user only by the bearer token it verified).
 */
export function newRequestContext(
  headers: Record<string, string | string[] | undefined>,
  options: { publicEntry?: boolean } = {},
): RequestContext {
  const header = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  if (options.publicEntry) {
    const clientRequestId = header('x-request-id');
    return {
      requestId: randomUUID(),
      ...(isWellFormedRequestId(clientRequestId) ? { clientRequestId } : {}),
      traceparent: childTraceparent(),
      identity: {},
    };
  }
  const invoked = !!header('dapr-caller-app-id')?.trim();
  const requestId = invoked ? header('x-request-id') : undefined;
  const clientRequestId = invoked ? header('x-client-request-id') : undefined;
  const incomingTrace = header('traceparent');
  const identity: Record<string, string> = {};
  for (const name of IDENTITY_HEADERS) {
    const value = header(name);
    if (value) identity[name] = value;
  }
  return {
    requestId: isWellFormedRequestId(requestId) ? requestId : randomUUID(),
    ...(isWellFormedRequestId(clientRequestId) ? { clientRequestId } : {}),
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
    ...(context.clientRequestId ? { 'x-client-request-id': context.clientRequestId } : {}),
    ...context.identity,
  };
}
