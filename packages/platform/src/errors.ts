/**
 * Domain errors: what went wrong in the business's terms. Domain code throws
 * these and never knows HTTP; the platform's error handler maps each kind to
 * a status code (see http/problem.ts).
 */
export type FieldIssue = { path: string; message: string };

export type DomainErrorKind =
  | 'invalid' // input malformed or out of range → 400
  | 'unauthenticated' // no or bad credentials → 401
  | 'forbidden' // caller may not do this → 403
  | 'not-found' // the record is absent → 404
  | 'conflict' // duplicate, overlap, stale version, already done → 409
  | 'precondition-failed' // the version the caller stated (If-Match) is not the current one → 412
  | 'gone' // a single-use or expiring credential that was used, replaced or has expired → 410
  | 'too-large' // the write would make an event larger than a contract allows → 413
  | 'rule-violation' // well-formed but against a rule → 422
  | 'throttled' // too many attempts → 429
  | 'unavailable'; // a dependency is down → 503

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    /** Machine-readable extras that belong in the response (e.g. the conflicting slot). */
    readonly details: Record<string, unknown> = {},
    /** The problem type's slug (`urn:caregrid:problem:<slug>`): the kind's, unless a client must tell this case apart. */
    readonly problemSlug: string = kind,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidInputError extends DomainError {
  constructor(
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super('invalid', message);
  }
}

/** One message for every failed sign-in, so callers cannot tell which part was wrong. */
export class UnauthenticatedError extends DomainError {
  constructor(message = 'Authentication failed') {
    super('unauthenticated', message);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message = 'You may not perform this action', details: Record<string, unknown> = {}) {
    super('forbidden', message, details);
  }
}

/**
 * The caller signed up but has not yet confirmed their email address, and the action needs it
 * (booking): a type of its own, so a client can say what to do about it.
 */
export class EmailNotVerifiedError extends DomainError {
  constructor(message = 'Confirm your email address first: follow the link we mailed you, or ask for a new one') {
    super('forbidden', message, {}, 'email-not-verified');
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string, id: string) {
    super('not-found', `${what} ${id} was not found`, { resource: what, id });
  }
}

export class ConflictError extends DomainError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('conflict', message, details);
  }
}

/**
 * The caller made the write conditional on a version of the record (If-Match) that is no longer
 * the current one: someone else wrote since. Nothing was changed.
 */
export class PreconditionFailedError extends DomainError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('precondition-failed', message, details);
  }
}

/** A link's token that was used, replaced by a newer one or has expired: it will never work again. */
export class GoneError extends DomainError {
  constructor(message: string) {
    super('gone', message);
  }
}

export class RuleViolationError extends DomainError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('rule-violation', message, details);
  }
}

export class ThrottledError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('throttled', message, { retryAfterSeconds });
  }
}

export class DependencyUnavailableError extends DomainError {
  constructor(dependency: string, cause?: unknown) {
    super('unavailable', `${dependency} is unavailable`, { dependency });
    this.cause = cause;
  }
}

/** A write whose event would outweigh what every subscriber is sized for (MAX_EVENT_DATA_BYTES): nothing is written. */
export class EventTooLargeError extends DomainError {
  constructor(eventType: string, bytes: number, limit: number) {
    super('too-large', `The change would publish a ${eventType} event of ${bytes} bytes; events may carry at most ${limit}`, {
      eventType,
      bytes,
      limit,
    });
  }
}
