import express, { type Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import { SIDECAR, type Logger } from '@caregrid/platform';
import { publicPathOf, ROUTES } from '../domain/routes.js';

type PathItem = Record<string, { 'x-caregrid-access'?: unknown } | undefined>;
type OpenApiDocument = { paths?: Record<string, PathItem>; components?: { schemas?: Record<string, unknown> } };

/**
 * The operations of a path item a client may call; undefined when none is
 * left. Event deliveries and binding triggers (access `sidecar` in the access
 * model, which each service states per operation) and what only a peer service
 * may call (`{ services }`) are not the public API.
 */
function clientOperations(item: PathItem): PathItem | undefined {
  const forClients = (access: unknown) => access !== SIDECAR && !(typeof access === 'object' && access !== null && 'services' in access);
  const kept = Object.entries(item).filter(([, operation]) => forClients(operation?.['x-caregrid-access']));
  return kept.length ? Object.fromEntries(kept) : undefined;
}

/**
 * One OpenAPI document for the whole API: each service's /openapi.json
 * (fetched by invocation through the sidecar), its paths renamed to the
 * gateway's public ones, with the bearer scheme every protected route uses.
 * Only what a client may call: subscriber and binding routes (tags `events`,
 * `internal`) are left out.
 */
export async function mergedOpenApi(fetchDocument: (appId: string) => Promise<OpenApiDocument | undefined>) {
  const appIds = [...new Set(ROUTES.map((route) => route.appId))];
  const documents = await Promise.all(appIds.map(async (appId) => [appId, await fetchDocument(appId).catch(() => undefined)] as const));
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  const missing: string[] = [];
  for (const [appId, document] of documents) {
    if (!document) {
      missing.push(appId);
      continue;
    }
    for (const [servicePath, item] of Object.entries(document.paths ?? {})) {
      const publicPath = publicPathOf(appId, servicePath);
      const operations = clientOperations(item);
      if (publicPath && operations) paths[publicPath] = operations;
    }
    Object.assign(schemas, document.components?.schemas);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'CareGrid API',
      version: '0.1.0',
      description: missing.length ? `Not reachable right now, so not listed: ${missing.join(', ')}` : 'All CareGrid services',
    },
    security: [{ bearerAuth: [] }],
    paths,
    components: { schemas, securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
  };
}

/**
 * Swagger UI's page loads its scripts from /docs (no inline script) and fetches the document and
 * "Try it out" calls from this origin. Its markup and components style elements inline (a
 * <style> block, style attributes), hence 'unsafe-inline' for styles only: a style cannot run
 * script. Its icons are data: images. No one may frame it (clickjacking "Try it out").
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function docsRouter(options: { sidecarHttpPort: number; logger: Logger; cacheMs?: number }): Router {
  const router = express.Router();
  router.use('/docs', (_req, res, next) => {
    res.set({ 'content-security-policy': DOCS_CSP, 'x-frame-options': 'DENY', 'x-content-type-options': 'nosniff' });
    next();
  });
  let cached: { at: number; document: unknown } | undefined;
  const fetchDocument = async (appId: string) => {
    const response = await fetch(`http://127.0.0.1:${options.sidecarHttpPort}/v1.0/invoke/${appId}/method/openapi.json`, {
      signal: AbortSignal.timeout(3_000),
    });
    return response.ok ? ((await response.json()) as OpenApiDocument) : undefined;
  };
  router.get('/docs/openapi.json', async (_req, res) => {
    if (!cached || Date.now() - cached.at > (options.cacheMs ?? 30_000))
      cached = { at: Date.now(), document: await mergedOpenApi(fetchDocument) };
    res.json(cached.document);
  });
  router.use(
    '/docs',
    swaggerUi.serve,
    swaggerUi.setup(undefined, {
      // No validator badge: it would load an image from validator.swagger.io (and send it our document's address).
      swaggerOptions: { url: '/docs/openapi.json', validatorUrl: null },
    }),
  );
  return router;
}
