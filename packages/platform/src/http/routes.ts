import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { AUDITED_RESOURCES, type AuditAction, type AuditedResource } from '@caregrid/contracts';
import { callerOf, GATEWAY_APP_ID, mayAttempt, type Caller } from '../access/check.js';
import { bearerToken, type TokenVerifier } from '../access/tokens.js';
import { AuditNote, beginAudit, type AuditSink } from '../audit/trail.js';
import { ENDPOINTS, isPermission, isServiceOnly, NEEDS_VERIFIED_EMAIL, PUBLIC, SIDECAR, type EndpointAccess } from '../access/model.js';
import { EmailNotVerifiedError, ForbiddenError, UnauthenticatedError } from '../errors.js';
import { answeredByIdempotencyKey } from './idempotency.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export type ResponseSpec = { description: string; schema?: z.ZodType; contentType?: string };

export type RouteInput<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType> = {
  body: z.output<B>;
  query: z.output<Q>;
  params: z.output<P>;
  /** Who is calling, already admitted to this route by the access model. */
  caller: Caller;
  req: Request;
  res: Response;
};

export type RouteSpec<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType> = {
  method: HttpMethod;
  /** Express syntax: `/patients/:id`. */
  path: string;
  summary: string;
  tags?: string[];
  body?: B;
  query?: Q;
  params?: P;
  responses: Record<number, ResponseSpec>;
  /** Bytes of JSON body this route takes, when it is not the app's default (event deliveries: whole batches). */
  bodyLimit?: number;
  /** What a request to this route does to patient data, for the audit trail: required on routes of audited resources. */
  audit?: AuditAction;
  /**
   * POST only: takes an `Idempotency-Key` header, so a client's retry gets the first answer
   * (http/idempotency.ts). The handler must write through inTransaction or writeWithOutboxEvent,
   * which hold its writes until its answer is stored with them, and answer with one send.
   */
  idempotent?: boolean;
  handler: (input: RouteInput<B, Q, P>) => unknown;
};

// Records kept for the OpenAPI document; the zod schemas are its only source.
export type RouteRecord = Omit<RouteSpec<z.ZodType, z.ZodType, z.ZodType>, 'handler'> & { access: EndpointAccess };

const anything = z.unknown();

/** Where the app keeps its audit sink (createServiceApp's `audit` option). */
export const AUDIT_SINK = 'caregridAuditSink';
/** app.locals key of the app's TokenVerifier (createServiceApp's `tokens`). */
export const TOKEN_VERIFIER = 'caregridTokenVerifier';

/**
 * The request's caller: a call from the gateway is a user only with a bearer
 * token this service verified (signature, issuer, audience, expiry); without
 * one, or with a bad one, it is anonymous. An app without a verifier knows no users.
 */
export async function identifyCaller(req: Request): Promise<Caller> {
  const token = req.header('dapr-caller-app-id')?.trim() === GATEWAY_APP_ID ? bearerToken(req.header('authorization')) : undefined;
  const verifier = req.app.locals[TOKEN_VERIFIER] as TokenVerifier | undefined;
  return callerOf(req, token && verifier ? await verifier.claimsOf(token) : undefined);
}

const auditedResource = (access: EndpointAccess): AuditedResource | undefined =>
  isPermission(access) && (AUDITED_RESOURCES as readonly string[]).includes(access.resource)
    ? (access.resource as AuditedResource)
    : undefined;

/** The status a route answers when it succeeds: the first 2xx it declares (200 when none). */
function successStatusOf(responses: Record<number, ResponseSpec>): number {
  const successes = Object.keys(responses)
    .map(Number)
    .filter((status) => status >= 200 && status < 300);
  return successes.length > 0 ? Math.min(...successes) : 200;
}

/** The first gate of every route: is this caller one the route admits at all? Record checks come after, in the use case. */
export function admit(access: EndpointAccess, caller: Caller): void {
  if (access === PUBLIC) return;
  if (access === SIDECAR) {
    if (caller.kind !== 'sidecar') throw new ForbiddenError('Only this service’s own sidecar calls this route');
    return;
  }
  if (isServiceOnly(access)) {
    if (caller.kind !== 'service' || !access.services.includes(caller.appId))
      throw new ForbiddenError('Only CareGrid services call this route');
    return;
  }
  if (caller.kind === 'anonymous' || caller.kind === 'sidecar') throw new UnauthenticatedError('This route needs a verified caller');
  if (!mayAttempt(caller, access)) throw new ForbiddenError(`You may not ${access.actions.join(' or ')} ${access.resource} records`);
  const needsVerifiedEmail = (NEEDS_VERIFIED_EMAIL[access.resource] ?? []) as readonly string[];
  if (caller.kind === 'user' && caller.emailVerified === false && access.actions.every((action) => needsVerifiedEmail.includes(action))) {
    throw new EmailNotVerifiedError();
  }
}

/**
 * An Express router whose routes declare zod schemas for body, query and
 * params: requests are validated against them (unknown fields rejected when the
 * schema is strict) and the same schemas produce the OpenAPI document. Who may
 * call each route comes from the access model's endpoint table (`METHOD
 * /path`); a route missing from it is a programming error caught at start.
 */
export class ApiRouter {
  readonly router = express.Router();
  readonly routes: RouteRecord[] = [];

  constructor(
    private readonly endpoints: Record<string, EndpointAccess>,
    private readonly service = 'unknown',
  ) {}

  /** Whether any route of this router writes audit entries (the app must then have a sink). */
  get audits(): boolean {
    return this.routes.some((route) => route.audit !== undefined);
  }

  /** Whether any route of this router takes an Idempotency-Key (the app must then have a store). */
  get idempotent(): boolean {
    return this.routes.some((route) => route.idempotent === true);
  }

  /** A router for one of CareGrid's services, admitting callers as ENDPOINTS says for that app-id. */
  static forService(appId: keyof typeof ENDPOINTS & string): ApiRouter {
    const endpoints = ENDPOINTS[appId];
    if (!endpoints) throw new Error(`${appId} has no endpoints in the access model`);
    return new ApiRouter(endpoints, appId);
  }

  add<B extends z.ZodType = z.ZodUnknown, Q extends z.ZodType = z.ZodUnknown, P extends z.ZodType = z.ZodUnknown>(
    spec: RouteSpec<B, Q, P>,
  ): this {
    const { handler, ...record } = spec;
    const key = `${spec.method.toUpperCase()} ${spec.path}`;
    const access = this.endpoints[key];
    if (!access) throw new Error(`${key} is not in the access model's endpoint table (packages/platform/src/access/model.ts)`);
    const resource = auditedResource(access);
    if (resource && !spec.audit) throw new Error(`${key} touches ${resource} records: declare its audit action`);
    // The app picks a body parser by the literal path, before routing: no parameters there.
    if (spec.bodyLimit !== undefined && spec.path.includes(':'))
      throw new Error(`${key}: a route with its own body limit has a fixed path`);
    if (spec.idempotent && spec.method !== 'post') throw new Error(`${key}: only a POST takes an Idempotency-Key`);
    this.routes.push({ ...(record as Omit<RouteRecord, 'access'>), access });
    // Built once per route: zod compiles an object schema on its first parse, so one per request cost ~10% of a read.
    const input = z.object({ body: spec.body ?? anything, query: spec.query ?? anything, params: spec.params ?? anything });
    const successStatus = successStatusOf(spec.responses);
    this.router[spec.method](spec.path, async (req, res) => {
      const caller = await identifyCaller(req);
      // Before admission, so a refused attempt is recorded too.
      if (resource && spec.audit) {
        const sink = req.app.locals[AUDIT_SINK] as AuditSink | undefined;
        if (!sink) throw new Error(`${key} is audited but the app has no audit sink`);
        beginAudit(res, new AuditNote(sink, { service: this.service, resource, action: spec.audit, caller, req, successStatus }));
      }
      admit(access, caller);
      const result = input.parse({ body: req.body, query: req.query, params: req.params });
      // After admission and validation: a refused or malformed request claims no key.
      if (spec.idempotent && (await answeredByIdempotencyKey(req, res, caller, key))) return;
      // Express 5 forwards a rejected promise to the error handler.
      await handler({ ...(result as { body: z.output<B>; query: z.output<Q>; params: z.output<P> }), caller, req, res });
    });
    return this;
  }
}
