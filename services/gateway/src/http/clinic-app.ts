import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';
import { DomainError, NotFoundError } from '@caregrid/platform';

/**
 * Where `npm run build:app` writes the clinic app (the same place in the gateway's image):
 * `packages/clinic-app/dist` of the nearest folder above this module that has `packages/` — the
 * module runs from src/http/ under tsx and from dist/main.js once bundled.
 */
export function defaultClinicAppDir(from = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'packages')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, 'packages', 'clinic-app', 'dist');
}

/**
 * Same origin as /api, so the app needs no CORS and its calls stay under
 * connect-src 'self'. No inline script or style is allowed; images only from
 * here (and data: for the empty favicon).
 */
export const CLINIC_APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The clinic app at /app: hashed assets cached for a year (their names change
 * with their content), index.html revalidated every time, every client route
 * under /app answered with index.html. Public: the JWT is checked on /api calls
 * by the gateway's sidecar, not here. An unbuilt app answers 503 saying how to
 * build it, read per request so a build made after the start is served.
 */
export function clinicAppRouter(options: { dir: string }): Router {
  const router = express.Router();
  const index = path.join(options.dir, 'index.html');
  router.use('/app', (_req, res, next) => {
    res.set({
      'content-security-policy': CLINIC_APP_CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    });
    next();
  });
  router.use(
    '/app/assets',
    express.static(path.join(options.dir, 'assets'), { immutable: true, maxAge: '365d', index: false, redirect: false }),
    // A missing asset is a 404, never index.html (a stale page asking for an old bundle must see the failure).
    (req, _res, next) => next(new NotFoundError('asset', req.path)),
  );
  router.get(['/app', '/app/{*route}'], (_req, res, next) => {
    if (!existsSync(index)) {
      next(
        new DomainError('unavailable', `The clinic app is not built (no ${index}): run \`npm run build:app\``, {
          dependency: 'clinic-app build',
        }),
      );
      return;
    }
    res.set('cache-control', 'no-cache').sendFile(index);
  });
  return router;
}
