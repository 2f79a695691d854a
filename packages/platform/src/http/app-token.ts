import { timingSafeEqual } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import { UnauthenticatedError } from '../errors.js';
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem.js';

/** Paths the orchestrator probes directly (kubelet, compose healthchecks), not through the sidecar. */
const PROBE_PATHS = new Set(['/healthz', '/readyz']);

const sameToken = (presented: string, expected: Buffer) => {
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
};

/**
 * Accepts a request only when it carries the app API token its sidecar adds
 * (`dapr-api-token`, from the same APP_API_TOKEN daprd was started with), so
 * a service reachable on the network still answers only its own sidecar.
 */
export function requireAppApiToken(token: string): RequestHandler {
  const expected = Buffer.from(token);
  return (req, res, next) => {
    if (PROBE_PATHS.has(req.path)) return next();
    const presented = req.get('dapr-api-token');
    if (presented !== undefined && sameToken(presented, expected)) return next();
    const { problem } = toProblem(new UnauthenticatedError('this service accepts requests from its Dapr sidecar only'), req.originalUrl);
    res.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
  };
}

/** The service's app behind the token check (see requireAppApiToken). */
export function guardWithAppApiToken(app: Express, token: string): Express {
  const outer = express();
  outer.disable('x-powered-by');
  outer.use(requireAppApiToken(token));
  outer.use(app);
  return outer;
}
