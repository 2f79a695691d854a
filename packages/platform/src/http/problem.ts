import { z } from 'zod';
import { DomainError, InvalidInputError, type DomainErrorKind, type FieldIssue } from '../errors.js';

/** RFC 9457 problem details, plus `errors` for field-level validation issues. */
export type Problem = {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldIssue[];
  [extension: string]: unknown;
};

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const statusByKind: Record<DomainErrorKind, { status: number; title: string }> = {
  invalid: { status: 400, title: 'Invalid request' },
  unauthenticated: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  'not-found': { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'Conflict' },
  gone: { status: 410, title: 'Gone' },
  'precondition-failed': { status: 412, title: 'Precondition failed' },
  'too-large': { status: 413, title: 'Content too large' },
  'rule-violation': { status: 422, title: 'Unprocessable request' },
  throttled: { status: 429, title: 'Too many requests' },
  unavailable: { status: 503, title: 'Service unavailable' },
};

export const problemType = (slug: string) => `urn:caregrid:problem:${slug}`;

export function issuesFromZod(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
}

type BodyParserError = Error & { type?: string; status?: number; expose?: boolean };

export type ProblemResponse = { problem: Problem; headers: Record<string, string>; unexpected: boolean };

/**
 * Maps anything thrown while handling a request to a problem response. Only
 * errors we understand reveal their message; the rest become a bare 500 so no
 * internals (stack, SQL, hostnames) leak.
 */
export function toProblem(error: unknown, instance?: string): ProblemResponse {
  const headers: Record<string, string> = {};
  if (error instanceof z.ZodError) {
    return {
      problem: {
        type: problemType('invalid'),
        title: 'Invalid request',
        status: 400,
        detail: 'The request has invalid fields',
        instance,
        errors: issuesFromZod(error),
      },
      headers,
      unexpected: false,
    };
  }
  if (error instanceof DomainError) {
    const { status, title } = statusByKind[error.kind];
    // Throttled, or a conflict that resolves itself (a request with the same Idempotency-Key still running).
    const retryAfter = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
    if (typeof retryAfter === 'number') headers['retry-after'] = String(retryAfter);
    const problem: Problem = { ...error.details, type: problemType(error.problemSlug), title, status, detail: error.message, instance };
    if (error instanceof InvalidInputError && error.issues.length > 0) problem.errors = error.issues;
    return { problem, headers, unexpected: false };
  }
  const parserError = error as BodyParserError;
  if (parserError && typeof parserError === 'object' && typeof parserError.type === 'string' && parserError.expose) {
    // body-parser's own errors: malformed JSON, body too large, bad charset.
    const status = parserError.status ?? 400;
    const detail = parserError.type === 'entity.parse.failed' ? 'The request body is not valid JSON' : parserError.message;
    return {
      problem: {
        type: problemType(parserError.type.replace(/\./g, '-')),
        title: status === 413 ? 'Payload too large' : 'Invalid request',
        status,
        detail,
        instance,
      },
      headers,
      unexpected: false,
    };
  }
  return {
    problem: {
      type: problemType('internal'),
      title: 'Internal server error',
      status: 500,
      detail: 'An unexpected error occurred',
      instance,
    },
    headers,
    unexpected: true,
  };
}
