import type { RequestHandler } from 'express';

/**
 * CORS for browser clients from the configured origins (`*` for any). Answers
 * preflights itself: they carry no token and must not reach the sidecar policy.
 */
export function cors(allowedOrigins: string[]): RequestHandler {
  const any = allowedOrigins.includes('*');
  return (req, res, next) => {
    const origin = req.header('origin');
    if (origin && (any || allowedOrigins.includes(origin))) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'Origin');
      res.setHeader('access-control-expose-headers', 'Location, ETag, X-Request-Id, Retry-After, Idempotent-Replayed');
    }
    if (req.method === 'OPTIONS' && req.header('access-control-request-method')) {
      res.setHeader('access-control-allow-methods', 'GET, POST, PUT, PATCH, DELETE');
      res.setHeader('access-control-allow-headers', 'Authorization, Content-Type, If-Match, If-None-Exist, X-Request-Id, Idempotency-Key');
      res.setHeader('access-control-max-age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}
