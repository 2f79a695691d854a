/**
 * What the gateway answers, from what its sidecar answered to an invocation (or from the
 * invocation failing before any answer). No I/O: `forward` in proxy.ts sends, asks, acts.
 */
import { FHIR_BASE } from '../domain/routes.js';

/** What the gateway knows when it decides. */
export type SidecarAnswer =
  /** An answer whose body has not been read: streamed through, unless it may be the sidecar's own word. */
  | { status: number; contentType: string; body?: undefined }
  /**
   * The same answer read whole, because the verdict on its head was `read`; with the request's
   * method and the answer's `Allow` header, for a 405.
   */
  | { status: number; contentType: string; body: string; method?: string; allow?: string }
  | NoAnswer;

/** The invocation timed out, or the sidecar could not be reached. */
export type NoAnswer = { failure: 'timeout' | 'unreachable' };

export type Problem = {
  status: number;
  slug: 'unauthenticated' | 'forbidden' | 'method-not-allowed' | 'upstream';
  title: string;
  detail: string;
  headers: Record<string, string>;
};

export type Verdict =
  /** The callee's answer: streamed through as it comes. */
  | { kind: 'stream' }
  /** Possibly the sidecar's own word: read the body whole, then decide on it. */
  | { kind: 'read' }
  /** Read whole, and the callee's own (a JSON 5xx of its own): sent on as read. */
  | { kind: 'relay' }
  /** The sidecar's policy refused the request. */
  | { kind: 'refused'; problem: Problem }
  | Failed;

/** The invocation failed (Dapr's own failure, a timeout, the sidecar unreachable): worth a log line. */
export type Failed = { kind: 'failed'; problem: Problem };

/** A crashed service is restarted within seconds (launcher backoff, kubelet): worth a retry soon. */
const RETRY_SOON = { 'retry-after': '1' };

const TIMED_OUT: Problem = {
  status: 504,
  slug: 'upstream',
  title: 'Gateway timeout',
  detail: 'The service did not answer in time',
  headers: {},
};
const UNAVAILABLE: Problem = {
  status: 503,
  slug: 'upstream',
  title: 'Service unavailable',
  detail: 'The service is unavailable',
  headers: RETRY_SOON,
};

export function classifySidecarAnswer(answer: NoAnswer): Failed;
export function classifySidecarAnswer(answer: SidecarAnswer): Verdict;
export function classifySidecarAnswer(answer: SidecarAnswer): Verdict {
  if ('failure' in answer) {
    return answer.failure === 'timeout'
      ? { kind: 'failed', problem: TIMED_OUT }
      : { kind: 'failed', problem: { ...UNAVAILABLE, detail: 'The gateway sidecar is unreachable' } };
  }
  const { status, contentType, body } = answer;
  // Dapr's own failures and the policy's plain-text 401/403/405 become problem+json; the rest streams through.
  const maybeSidecars =
    (status >= 500 && contentType.includes('application/json')) ||
    ((status === 401 || status === 403 || status === 405) && !contentType.includes('json'));
  if (!maybeSidecars) return body === undefined ? { kind: 'stream' } : { kind: 'relay' };
  if (body === undefined) return { kind: 'read' };
  if (status === 401) {
    return {
      kind: 'refused',
      problem: {
        status: 401,
        slug: 'unauthenticated',
        title: 'Unauthorized',
        detail: 'A valid bearer token is required',
        headers: { 'www-authenticate': 'Bearer' },
      },
    };
  }
  if (status === 403) {
    return {
      kind: 'refused',
      problem: { status: 403, slug: 'forbidden', title: 'Forbidden', detail: 'Your role does not allow this request', headers: {} },
    };
  }
  if (status === 405) {
    // The policy's word for a FHIR interaction no role may attempt: Allow names what is offered there.
    const allow = answer.allow ?? '';
    return {
      kind: 'refused',
      problem: {
        status: 405,
        slug: 'method-not-allowed',
        title: 'Method not allowed',
        detail: `${answer.method ?? 'This method'} is not offered here (${allow ? `offered: ${allow}` : 'nothing is'}; see ${FHIR_BASE}/metadata)`,
        headers: { allow },
      },
    };
  }
  const failure = daprFailure(body);
  return failure ? { kind: 'failed', problem: failure } : { kind: 'relay' };
}

/** Dapr's own invocation failures (its ERR_* body, on a 5xx), told apart from the callee's answers. */
function daprFailure(body: string): Problem | undefined {
  let parsed: { errorCode?: unknown; message?: unknown } | null;
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return undefined;
  }
  // Any JSON may come back (`null` too): only an object with a string ERR_ code is Dapr's.
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.errorCode !== 'string' || !parsed.errorCode.startsWith('ERR_'))
    return undefined;
  const message = typeof parsed.message === 'string' ? parsed.message : '';
  if (/deadline exceeded|timeout|timed out/i.test(message)) return TIMED_OUT;
  // The callee is down, restarting or out of rotation (its sidecar says its app is unhealthy, or its
  // app's connection was refused or dropped): temporary, so 503 with a Retry-After, never a 502.
  if (
    /no host found|connection refused|connection reset|broken pipe|\bEOF\b|not in a healthy state|circuit breaker|unavailable|no such host/i.test(
      message,
    )
  ) {
    return UNAVAILABLE;
  }
  return { status: 502, slug: 'upstream', title: 'Service unavailable', detail: 'The service could not be reached', headers: {} };
}
