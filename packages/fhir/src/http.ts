import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { NotFoundError, toProblem, type ApiRouter, type Logger, type ServiceApiPart } from '@caregrid/platform';
import { searchset } from './bundle.js';
import { PATCH_FORMATS } from './capability-statement.js';
import { toOperationOutcome, type ProblemLike } from './operation-outcome.js';
import { FHIR_JSON, type Resource } from './systems.js';

/**
 * The HTTP side of the FHIR routes, once for every service (and the gateway):
 * the content type, the public URLs of a searchset, and errors as
 * OperationOutcomes. The pure mappings (`@caregrid/fhir`) know nothing of
 * Express; this entry point (`@caregrid/fhir/http`) does.
 */
export const FHIR_CONTENT_TYPE = `${FHIR_JSON}; charset=utf-8`;

export function sendResource(res: Response, resource: Resource, status = 200): void {
  res.status(status).type(FHIR_CONTENT_TYPE).send(JSON.stringify(resource));
}

/** `/fhir/Appointment/…` or `/api/fhir/Appointment?…` (the URL as received: a mounted handler's path is relative) → `Appointment`. */
function resourceTypeOf(path: string): string | undefined {
  return /\/fhir\/([A-Z][A-Za-z]+)/.exec(path)?.[1];
}

export function sendOutcome(res: Response, problem: ProblemLike, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // The repositories' keyset pagination knows the JSON API's names of the paging parameters.
  const named = { 'query.cursor': 'query._cursor', 'query.limit': 'query._count' } as Record<string, string>;
  if (problem.errors)
    problem = { ...problem, errors: problem.errors.map((error) => ({ ...error, path: named[error.path] ?? error.path })) };
  const { status, outcome } = toOperationOutcome(problem, { resourceType: resourceTypeOf(res.req.originalUrl) });
  res.status(status).set(headers).type(FHIR_CONTENT_TYPE).send(JSON.stringify(outcome));
}

/**
 * The public URL of a request a service received from the gateway: the
 * gateway strips `/api` and vouches for the scheme and host the client used
 * (x-forwarded-proto, x-forwarded-host), so searchset links are the ones a
 * client follows (`https://host/api/fhir/Patient?…`). Sidecars on the way
 * append their own values (`host, daprd-host`): the first is the gateway's.
 */
export function publicRequestUrl(req: Request): string {
  const first = (name: string) => req.header(name)?.split(',')[0]?.trim() || undefined;
  const proto = first('x-forwarded-proto') === 'https' ? 'https' : 'http';
  const given = first('x-forwarded-host') ?? req.header('host');
  const host = given && /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(given) ? given : 'localhost';
  return `${proto}://${host}/api${req.originalUrl}`;
}

/** The answer to a search with `_summary=count`: a searchset of the total alone (no entries, no next link). */
export function sendCount(req: Request, res: Response, total: number): void {
  sendResource(res, searchset([], { total, selfUrl: publicRequestUrl(req) }));
}

const BODY_TYPES = [FHIR_JSON, 'application/json'];

/**
 * Before a service's routers (`fhirApi` puts it there): a FHIR write
 * carries a resource as `application/fhir+json` (or plain JSON), a patch as
 * JSON Patch; anything else is a 415 OperationOutcome naming what is taken.
 */
export const fhirBodyTypes: RequestHandler = (req, res, next) => {
  if (!req.path.startsWith('/fhir/') || !['POST', 'PUT', 'PATCH'].includes(req.method)) {
    next();
    return;
  }
  const accepted = req.method === 'PATCH' ? PATCH_FORMATS : BODY_TYPES;
  if (req.is(accepted)) {
    next();
    return;
  }
  sendOutcome(res, {
    type: 'urn:caregrid:problem:unsupported-media-type',
    title: 'Unsupported media type',
    status: 415,
    detail: `${req.method} takes ${accepted.join(' or ')}`,
  });
};

/**
 * Mounted at `/fhir` after a service's routers (`fhirApi` mounts it):
 * a FHIR path no route serves is a 404 OperationOutcome, and whatever a FHIR
 * route throws (validation, access, domain rules, malformed JSON) is answered
 * as an OperationOutcome with the status the platform gives it — never
 * problem+json, never a stack.
 */
export function fhirErrors(logger: Logger): [RequestHandler, ErrorRequestHandler] {
  const notFound: RequestHandler = (req, _res, next) => next(new NotFoundError('route', `${req.method} ${req.originalUrl.split('?')[0]}`));
  const handler: ErrorRequestHandler = (error, req, res, _next) => {
    const { problem, headers, unexpected } = toProblem(error, req.originalUrl);
    if (unexpected) logger.error({ err: error }, 'unhandled error');
    sendOutcome(res, problem, headers);
  };
  return [notFound, handler];
}

/**
 * A service's FHIR API as createServiceApp takes it (its `fhir` part): the routes, the body
 * check before every router, the OperationOutcome errors under `/fhir` after them. Built here
 * because @caregrid/platform does not import this package (this one depends on it).
 */
export function fhirApi(...routers: ApiRouter[]): ServiceApiPart {
  return { routers, before: [fhirBodyTypes], mount: (app, logger) => app.use('/fhir', fhirErrors(logger)) };
}
