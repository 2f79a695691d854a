import type { RequestHandler } from 'express';

/** Browsers that reached us over HTTPS once use nothing else for a year, subdomains included. */
export const HSTS = 'max-age=31536000; includeSubDomains';

/** Whether a path is the API, whose answers may carry patient data (JSON, FHIR, invoice PDFs). */
const isApiPath = (path: string) => path === '/api' || path.startsWith('/api/');

/**
 * Headers on every answer of the gateway, its own and forwarded ones: HSTS, nosniff, and under
 * /api/ `Cache-Control: no-store`, so no browser cache, history or shared proxy keeps a copy of
 * patient data. ETags still pass, for If-Match on updates. Set before anything else runs: a 429
 * or a 503 the gateway makes up carries them too (a forwarded answer's own Cache-Control does not
 * replace them, see proxy.ts).
 */
export const edgeHeaders: RequestHandler = (req, res, next) => {
  res.setHeader('strict-transport-security', HSTS);
  res.setHeader('x-content-type-options', 'nosniff');
  if (isApiPath(req.path)) res.setHeader('cache-control', 'no-store');
  next();
};
