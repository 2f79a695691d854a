import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Caller } from '../access/check.js';
import type { AuditTouch } from '../audit/trail.js';
import { currentContext } from '../context.js';
import { ConflictError, InvalidInputError, RuleViolationError } from '../errors.js';
import { PROBLEM_CONTENT_TYPE, toProblem, type Problem } from './problem.js';
import type { ResponseSpec } from './routes.js';

/**
 * Idempotency-Key on POST routes that declare `idempotent: true` (cf. the IETF httpapi
 * Idempotency-Key draft): a client whose request timed out retries with the same key and gets
 * the first answer, never a second booking, payment or record, never a 409 for its own write.
 *
 * - A key is scoped by caller (user id, or a peer's app-id) and route: one caller's key never
 *   answers another's request.
 * - The first request with a key claims it and is processed; its writes are held in one
 *   transaction (HeldTransaction in data/postgres.ts) and commit together with its answer
 *   (status, Location/Content-Type, body), so a crash leaves both or neither.
 * - A retry gets that answer again with `Idempotent-Replayed: true`; the same key with another
 *   method, path or body is 422 (`idempotency-key-reused`); while the first still runs, the retry
 *   waits for it (up to IDEMPOTENCY_WAIT_MS), then 409 with Retry-After.
 * - An answer of 5xx (or 429) wrote nothing and is not kept: the retry is processed afresh. Other
 *   4xx answers are kept and replayed. Keys expire after IDEMPOTENCY_TTL_MS.
 */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotent-replayed';

/** How long an answer is kept for the retries of its key. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/**
 * How long the first request owns its key: past it, a retry takes the key over (the owner died,
 * or its late answer is dropped with its writes). Far above any request's run (peer calls time out
 * at 5 s, a database connection at 5 s), so it only decides how soon a crashed owner's key is free.
 */
export const IDEMPOTENCY_LEASE_MS = 30_000;
/**
 * How long a retry waits for the first request still running: under the 5-s invocation timeout
 * of the gateway's sidecar, so the retry's own answer (the first's, or a 409) reaches the client.
 */
export const IDEMPOTENCY_WAIT_MS = 4_000;

/** Where the app keeps its idempotency store and what to call after a commit (createServiceApp's options). */
export const IDEMPOTENCY = 'caregridIdempotency';
export type IdempotencyDependencies = { store: IdempotencyStore; onCommitted?: () => void };

export type IdempotencyScope = { caller: string; route: string; key: string };
export type StoredAnswer = { status: number; headers: Record<string, string>; body: Buffer; audit?: AuditTouch };

/** A key this request owns until it answers. */
export type IdempotencyClaim = {
  /** The request context's heldWrites: the database module runs the request's writes in it, uncommitted until complete(). */
  readonly writes: object;
  /** Stores the answer and commits the held writes with it; not stored when another request took the key over (then nothing commits). */
  complete(answer: StoredAnswer): Promise<{ stored: boolean; committedWrites: boolean }>;
  /** Rolls the held writes back and lets the key go: the retry is processed afresh. */
  abandon(): Promise<void>;
};

export type ClaimOutcome =
  | { outcome: 'claimed'; claim: IdempotencyClaim }
  | { outcome: 'answered'; answer: StoredAnswer }
  | { outcome: 'mismatch' }
  | { outcome: 'in-flight' };

export interface IdempotencyStore {
  claim(scope: IdempotencyScope, fingerprint: string): Promise<ClaimOutcome>;
}

/** A request with this key is still running (or took the key over): retry soon for its answer. */
export class KeyInFlightError extends ConflictError {
  readonly retryAfterSeconds = 1;
  constructor() {
    super('A request with this Idempotency-Key is still being processed; retry shortly for its answer', {
      rule: 'idempotency-key-in-flight',
    });
  }
}

// Printable ASCII; the draft's structured-field form ("…") is taken too, quotes stripped.
const KEY = /^[\x20-\x7e]{1,255}$/;

/** The key of a request: undefined without the header, 400 when it is not 1–255 printable ASCII characters. */
export function idempotencyKeyOf(req: Request): string | undefined {
  const raw = req.header(IDEMPOTENCY_KEY_HEADER);
  if (raw === undefined) return undefined;
  const key = /^".*"$/.test(raw) ? raw.slice(1, -1) : raw;
  if (!KEY.test(key)) {
    throw new InvalidInputError('The Idempotency-Key header must be 1–255 printable ASCII characters', [
      { path: `header.${IDEMPOTENCY_KEY_HEADER}`, message: 'must be 1–255 printable ASCII characters' },
    ]);
  }
  return key;
}

/** JSON with object keys in order: the same body, however its keys were ordered, hashes alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What makes two requests "the same" for a key: method, path (with query) and body. */
export function requestFingerprint(method: string, url: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method.toUpperCase()} ${url}\n${canonicalJson(body ?? null)}`)
    .digest('hex');
}

/** Whose keys these are: the verified user, or the calling peer service. */
function scopeOf(caller: Caller): string {
  if (caller.kind === 'user') return `user:${caller.userId}`;
  if (caller.kind === 'service') return `app:${caller.appId}`;
  if (caller.kind === 'sidecar') return 'sidecar';
  throw new InvalidInputError('An Idempotency-Key is kept per caller, and this request has no verified caller');
}

// What a replay needs of the first answer's headers: the rest is the transport's or recomputed.
const KEPT_HEADERS = ['content-type', 'location', 'content-location', 'etag'];
const keptHeaders = (res: Response) =>
  Object.fromEntries(KEPT_HEADERS.flatMap((name) => (res.hasHeader(name) ? [[name, String(res.getHeader(name))]] : [])));

/** 5xx wrote nothing (or nothing that stays); 429 says "not now", not what happened. */
const isKept = (status: number) => status < 500 && status !== 429;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The key claimed, answered or refused; while its first request runs, polled until IDEMPOTENCY_WAIT_MS have passed. */
async function claimOrWait(store: IdempotencyStore, scope: IdempotencyScope, fingerprint: string) {
  const deadline = Date.now() + IDEMPOTENCY_WAIT_MS;
  let pause = 25;
  for (;;) {
    const result = await store.claim(scope, fingerprint);
    if (result.outcome !== 'in-flight') return result;
    if (Date.now() + pause > deadline) throw new KeyInFlightError();
    await sleep(pause);
    pause = Math.min(pause * 2, 200);
  }
}

/**
 * An answer that must not leave as it is (its key's answer could not be stored): the error's
 * problem instead, whatever the handler had set. Headers are not sent yet (the answer was held).
 */
function answerInstead(req: Request, res: Response, end: (...args: unknown[]) => Response, error: unknown): void {
  const { problem, headers } = toProblem(error, req.originalUrl) as { problem: Problem; headers: Record<string, string> };
  for (const name of res.getHeaderNames()) if (name !== 'x-request-id') res.removeHeader(name);
  res.statusCode = problem.status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('content-type', PROBLEM_CONTENT_TYPE);
  end(JSON.stringify(problem));
}

/**
 * Holds the answer of the request that owns the key until it is stored with the request's writes
 * (one commit), then lets it go; an answer that is not kept rolls the writes back and frees the key.
 */
function holdAnswer(req: Request, res: Response, claim: IdempotencyClaim, onCommitted?: () => void): void {
  const audit = currentContext()?.audit;
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  const settle = async (status: number, body: Buffer) => {
    if (!isKept(status)) {
      // Not stored: a failure to let the key go only delays the retry until the lease runs out.
      await claim.abandon().catch(() => undefined);
      return;
    }
    const { stored, committedWrites } = await claim.complete({ status, headers: keptHeaders(res), body, audit: audit?.touched() });
    if (committedWrites) onCommitted?.();
    // Past its lease and taken over by a retry: this request's writes were rolled back, the retry's answer counts.
    if (!stored) throw new KeyInFlightError();
  };
  res.end = ((...args: unknown[]) => {
    const [chunk, encoding] = args;
    const body =
      typeof chunk === 'string'
        ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
        : chunk instanceof Uint8Array
          ? Buffer.from(chunk)
          : Buffer.alloc(0);
    settle(res.statusCode, body).then(
      () => end(...args),
      (error: unknown) => answerInstead(req, res, end, error),
    );
    return res;
  }) as Response['end'];
}

/**
 * The Idempotency-Key step of an idempotent route, after admission and validation: without the
 * header, nothing (false: process as usual). With it: a stored answer is replayed (true: answered),
 * or the key is claimed and the request goes on with its writes held for its answer (false).
 */
export async function answeredByIdempotencyKey(req: Request, res: Response, caller: Caller, route: string): Promise<boolean> {
  const key = idempotencyKeyOf(req);
  if (key === undefined) return false;
  const dependencies = req.app.locals[IDEMPOTENCY] as IdempotencyDependencies | undefined;
  if (!dependencies) throw new Error(`${route} is idempotent but the app has no idempotency store`);
  const scope = { caller: scopeOf(caller), route, key };
  const result = await claimOrWait(dependencies.store, scope, requestFingerprint(req.method, req.originalUrl, req.body));
  if (result.outcome === 'mismatch') {
    throw new RuleViolationError('This Idempotency-Key was used with another request; use a new key for a new request', {
      rule: 'idempotency-key-reused',
    });
  }
  if (result.outcome === 'answered') {
    const { status, headers, body, audit } = result.answer;
    // A replay is an access of its own: recorded with what the first request touched.
    if (audit) currentContext()?.audit?.replay(audit);
    res.status(status);
    // As stored: res.set would rewrite a content type.
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.setHeader(REPLAYED_HEADER, 'true');
    res.end(body);
    return true;
  }
  const context = currentContext();
  if (context) context.heldWrites = result.claim.writes;
  holdAnswer(req, res, result.claim, dependencies.onCommitted);
  return false;
}

/** The OpenAPI side: the optional header, the replay marker on success, and the answers the key adds. */
export function idempotencyParameter() {
  return {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Makes a retry safe: the same key (yours, for this route) with the same request gets the first answer again, with ' +
      '`Idempotent-Replayed: true`, for 24 h; with another request 422 `idempotency-key-reused`; while the first still runs, ' +
      'it is awaited a few seconds, then 409 with Retry-After. A 5xx answer is not kept: retrying processes the request afresh.',
    schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7E]+$' },
  };
}

export const REPLAYED_RESPONSE_HEADER = {
  'Idempotent-Replayed': {
    description: 'true when this is the stored answer of an earlier request with the same Idempotency-Key',
    schema: { type: 'string', enum: ['true'] },
  },
};

/** The route's responses with the ones an Idempotency-Key can add (400, 409, 422) named. */
export function withIdempotencyAnswers(responses: Record<number, ResponseSpec>): Record<number, ResponseSpec> {
  const add = (status: number, text: string): ResponseSpec => {
    const existing = responses[status];
    return existing
      ? { ...existing, description: `${existing.description}; or ${text}` }
      : { description: text[0]!.toUpperCase() + text.slice(1) };
  };
  return {
    ...responses,
    400: add(400, 'an Idempotency-Key that is not 1–255 printable ASCII characters'),
    409: add(409, 'a request with this Idempotency-Key is still being processed (Retry-After)'),
    422: add(422, 'this Idempotency-Key was used with another request (idempotency-key-reused)'),
  };
}
